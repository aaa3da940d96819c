"""The strict CBOR profile: what it accepts, what it refuses, and deterministic output."""

from __future__ import annotations

import pytest

from protocol import cbor_strict
from protocol.errors import DecodeError, TooLargeError

LIMITS = cbor_strict.Limits(max_size=64, max_depth=2, max_items=10, allowed_tags=frozenset({18}))


def test_accepts_the_profile() -> None:
    data = bytes.fromhex("a300010161612083f4f5f6")  # {0:1, 1:"a", -1:[false,true,null]}
    assert cbor_strict.decode(data, LIMITS) == {0: 1, 1: "a", -1: [False, True, None]}


@pytest.mark.parametrize(
    ("hex_data", "why"),
    [
        ("", "empty"),
        ("0000", "trailing bytes"),
        ("1817", "non-shortest integer"),
        ("190017", "non-shortest integer (2 bytes)"),
        ("5f41ff", "indefinite byte string"),
        ("9f01ff", "indefinite array"),
        ("a200010002", "duplicate map key"),
        ("a201000001", "unsorted map keys"),
        ("a1410000", "byte string map key"),
        ("f93c00", "half float"),
        ("f7", "undefined"),
        ("f820", "simple value 32"),
        ("c240", "tag 2 not allowed"),
        ("62c328", "invalid UTF-8"),
        ("42aa", "truncated byte string"),
        ("8181818101", "too deep"),
        ("8b" + "00" * 11, "too many items"),
        ("1c", "reserved additional info"),
    ],
)
def test_refuses(hex_data: str, why: str) -> None:
    with pytest.raises(DecodeError):
        cbor_strict.decode(bytes.fromhex(hex_data), LIMITS)


def test_size_cap_is_checked_before_decoding() -> None:
    with pytest.raises(TooLargeError) as caught:
        cbor_strict.decode(b"\xff" * 65, LIMITS)
    assert caught.value.reason.slug == "too_large"


def test_allowed_tag_passes() -> None:
    assert cbor_strict.decode(bytes.fromhex("d24100"), LIMITS).tag == 18


def test_encode_sorts_keys_bytewise_and_round_trips() -> None:
    value = {-65537: "p", 24: 1, -1: 2, 1: 3, "a": 4}
    data = cbor_strict.encode(value)
    # RFC 8949 §4.2.1: 0x01 < 0x1818 < 0x20 < 0x3a... < 0x61 ("a")
    assert data.hex() == "a5010318180120023a000100006170616104"
    assert cbor_strict.encode(cbor_strict.decode(data, cbor_strict.Limits(max_size=64))) == data
