"""The common frame of every BLE message: a CBOR map whose key 0 is the protocol version.

Checking the version before the field set lets a v1 door answer a future v2 app with
`unsupported_version` instead of `malformed`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from protocol import cbor_strict
from protocol.errors import DecodeError, UnsupportedVersionError

__all__ = ["PROTOCOL_VERSION", "VERSION_KEY", "decode_versioned", "encode_versioned"]

PROTOCOL_VERSION = 1
VERSION_KEY = 0


def encode_versioned(fields: dict[int, Any]) -> bytes:
    """Deterministic CBOR of `fields` plus the version under key 0."""
    return cbor_strict.encode({VERSION_KEY: PROTOCOL_VERSION, **{int(k): v for k, v in fields.items()}})


def decode_versioned(
    data: bytes, limits: cbor_strict.Limits, required: Iterable[int], optional: Iterable[int] = ()
) -> dict[int, Any]:
    """Strictly decode a versioned map with exactly `required` (+ any of `optional`) keys."""
    raw = cbor_strict.decode(data, limits)
    if not isinstance(raw, dict) or type(raw.get(VERSION_KEY)) is not int:
        raise DecodeError("a message is a CBOR map with an integer version under key 0")
    if raw[VERSION_KEY] != PROTOCOL_VERSION:
        raise UnsupportedVersionError(f"protocol version {raw[VERSION_KEY]} is not supported")
    required_keys = {VERSION_KEY, *map(int, required)}
    if not required_keys <= set(raw) <= required_keys | set(map(int, optional)):
        raise DecodeError("message has missing or unknown fields")
    return raw
