"""Property-based tests: random and mutated bytes never crash a decoder or open a door."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol import gatt
from protocol.errors import ProtocolError
from protocol.grant import decode_claims, parse_grant
from protocol.receipt import decode_receipt, sign_receipt, verify_receipt
from protocol.unlock import UnlockRequest
from tests.protocol_world import DOOR_KEY, DOOR_PUB, Door, chain, grant, request

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
GOOD_REQUEST = request()
GOOD_RECEIPT = chain(1)[0]

DECODERS: list[Callable[[bytes], object]] = [
    UnlockRequest.from_bytes,
    parse_grant,
    decode_claims,
    decode_receipt,
    lambda b: verify_receipt(b, DOOR_PUB),
    gatt.AdvertisedDoor.from_bytes,
    gatt.DoorInfo.from_bytes,
    gatt.Challenge.from_bytes,
    gatt.UnlockResult.from_bytes,
    gatt.ReceiptQuery.from_bytes,
    gatt.ReceiptBatch.from_bytes,
]


def _mutate(data: bytes, edits: list[tuple[int, int]], cut: int | None, extra: bytes) -> bytes:
    out = bytearray(data)
    for index, value in edits:
        out[index % len(out)] ^= value or 1
    if cut is not None:
        del out[cut % len(out) :]
    return bytes(out) + extra


mutations = st.tuples(
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=4),
    st.none() | st.integers(0, 10_000),
    st.binary(max_size=4),
)


@pytest.mark.parametrize("decoder", DECODERS, ids=lambda d: getattr(d, "__qualname__", "lambda"))
@FUZZ
@given(data=st.binary(max_size=600))
def test_random_bytes_raise_only_protocol_errors(decoder: Callable[[bytes], object], data: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        decoder(data)


@FUZZ
@given(data=st.binary(max_size=600))
def test_verifier_refuses_random_bytes(data: bytes) -> None:
    assert not Door().check(data).accepted


@FUZZ
@given(mutation=mutations)
def test_no_mutated_request_is_accepted(mutation: tuple[list[tuple[int, int]], int | None, bytes]) -> None:
    mutated = _mutate(GOOD_REQUEST, *mutation)
    if mutated != GOOD_REQUEST:
        assert not Door().check(mutated).accepted


@FUZZ
@given(mutation=mutations)
def test_no_mutated_grant_is_accepted(mutation: tuple[list[tuple[int, int]], int | None, bytes]) -> None:
    good = grant()
    mutated = _mutate(good, *mutation)
    if mutated != good:
        try:
            req = request(mutated)
        except ProtocolError:
            return  # the app-side builder already refuses it
        assert not Door().check(req).accepted


@FUZZ
@given(mutation=mutations)
def test_no_mutated_receipt_verifies(mutation: tuple[list[tuple[int, int]], int | None, bytes]) -> None:
    mutated = _mutate(GOOD_RECEIPT, *mutation)
    if mutated == GOOD_RECEIPT:
        return
    try:
        receipt = verify_receipt(mutated, DOOR_PUB)
    except ProtocolError:
        return
    # Only a re-encoding of the very same signed content could verify; it must re-sign identically.
    assert sign_receipt(receipt, DOOR_KEY) == GOOD_RECEIPT
