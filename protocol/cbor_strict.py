"""Strict CBOR decoding and deterministic encoding for every LobbyKey message.

Every message is checked against a small, precise profile before `cbor2` turns it into
Python values, so a door written in C can apply the same rules with a single pass:

* the whole input is one data item: no trailing bytes; the size cap is checked first;
* definite lengths only, every head in its shortest form (RFC 8949 §4.2.1);
* only unsigned/negative integers, byte/text strings (valid UTF-8), arrays, maps,
  false/true/null, and tags from an explicit allow-list: no floats, no other simple values;
* map keys are integers or text strings, in strictly increasing bytewise order of their
  encodings -- which also rules out duplicate keys;
* nesting depth and total number of data items are bounded.

Output uses the same profile (core deterministic encoding), so encode(decode(b)) == b.
"""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Any

import cbor2

from protocol.errors import DecodeError, TooLargeError

__all__ = ["Limits", "check_well_formed", "decode", "encode"]


@dataclass(frozen=True)
class Limits:
    """Bounds applied while decoding one message."""

    max_size: int
    max_depth: int = 6
    max_items: int = 128
    allowed_tags: frozenset[int] = frozenset()


_SIMPLE_FALSE, _SIMPLE_TRUE, _SIMPLE_NULL = 20, 21, 22


class _Walker:
    """One pass over the raw bytes enforcing the profile; keeps no Python values."""

    def __init__(self, data: bytes, limits: Limits) -> None:
        self.data = data
        self.limits = limits
        self.pos = 0
        self.items = 0

    def fail(self, why: str) -> DecodeError:
        return DecodeError(f"{why} at offset {self.pos}")

    def head(self) -> tuple[int, int, int]:
        """Read an initial byte and argument; returns (major, info, argument)."""
        data, pos = self.data, self.pos
        if pos >= len(data):
            raise self.fail("truncated input")
        initial = data[pos]
        self.pos = pos = pos + 1
        major, info = initial >> 5, initial & 0x1F
        if info < 24:
            return major, info, info
        if info > 27:
            raise self.fail("indefinite length or reserved additional info")
        width = 1 << (info - 24)
        if width > len(data) - pos:
            raise self.fail("truncated input")
        arg = int.from_bytes(data[pos : pos + width], "big")
        self.pos = pos + width
        if major != 7 and arg < (24 if width == 1 else 1 << (8 * (width >> 1))):
            raise self.fail("non-shortest encoding")
        return major, info, arg

    def item(self, depth: int) -> None:
        self.items += 1
        if self.items > self.limits.max_items:
            raise self.fail("too many data items")
        if depth > self.limits.max_depth:
            raise self.fail("nesting too deep")
        major, info, arg = self.head()
        if major < 2:
            return
        if major < 4:
            start = self.pos
            if arg > len(self.data) - start:
                raise self.fail("truncated input")
            self.pos = start + arg
            if major == 3:
                try:
                    self.data[start : self.pos].decode("utf-8")
                except UnicodeDecodeError:
                    raise self.fail("invalid UTF-8 in text string") from None
            return
        if major == 4:
            for _ in range(arg):
                self.item(depth + 1)
            return
        if major == 5:
            self.map_entries(arg, depth + 1)
            return
        if major == 6:
            if arg not in self.limits.allowed_tags:
                raise self.fail(f"tag {arg} not allowed")
            self.item(depth + 1)
            return
        # major 7: only false, true, null in their one-byte form.
        if info not in (_SIMPLE_FALSE, _SIMPLE_TRUE, _SIMPLE_NULL):
            raise self.fail("float or unsupported simple value")

    def map_entries(self, count: int, depth: int) -> None:
        data, previous = self.data, b""
        for _ in range(count):
            start = self.pos
            if start >= len(data):
                raise self.fail("truncated input")
            if data[start] >> 5 not in (0, 1, 3):
                raise self.fail("map key is not an integer or text string")
            self.item(depth)
            key = data[start : self.pos]
            if key <= previous:
                raise self.fail("map keys duplicated or not in deterministic order")
            previous = key
            self.item(depth)


def check_well_formed(data: bytes, limits: Limits) -> None:
    """Raise DecodeError (or TooLargeError) unless `data` is one item in the strict profile."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise DecodeError("input is not bytes")
    data = bytes(data)
    if len(data) > limits.max_size:
        raise TooLargeError(f"{len(data)} bytes exceeds the cap of {limits.max_size}")
    if not data:
        raise DecodeError("empty input")
    walker = _Walker(data, limits)
    walker.item(0)
    if walker.pos != len(data):
        raise DecodeError(f"{len(data) - walker.pos} trailing bytes")


def decode(data: bytes, limits: Limits) -> Any:
    """Check `data` against the strict profile, then decode it with cbor2."""
    check_well_formed(data, limits)
    try:
        return cbor2.loads(bytes(data))
    except (cbor2.CBORDecodeError, ValueError, TypeError) as err:  # pragma: no cover - profile forbids
        raise DecodeError(f"cbor2 refused checked input: {err}") from err


_ORDERS_MAX = 256
_Order = tuple[tuple[int, Any], ...]
_orders: dict[tuple[tuple[Any, ...], tuple[type, ...]], _Order] = {}
"""Map shapes seen before, by (keys, their types): each key's position and its plain int/str form."""
_PLAIN_TYPES = frozenset({int, str, bytes, bool, type(None)})


def _plain_key(key: Any) -> Any:
    """The int or str a key encodes as, or None if its encoding may not follow from type and value.

    `bool` is an int subclass but encodes as a simple value, so it is left out.
    """
    kind = type(key)
    if kind is int or kind is str:
        return key
    if issubclass(kind, IntEnum):
        return int(key)
    if issubclass(kind, StrEnum):
        return str(key)
    return None


def _sort_shape(keys: tuple[Any, ...], shape: tuple[tuple[Any, ...], tuple[type, ...]]) -> _Order:
    """Each key's position in bytewise order of its encoding, remembered if the shape allows."""
    positions = sorted(range(len(keys)), key=lambda i: encode(keys[i]))
    plain_keys = [_plain_key(keys[i]) for i in positions]
    if None in plain_keys:
        return tuple((i, keys[i]) for i in positions)
    if len(_orders) >= _ORDERS_MAX:
        _orders.clear()
    order = _orders[shape] = tuple(zip(positions, plain_keys, strict=True))
    return order


def _canonical(value: Any) -> Any:
    """`value` with every map rebuilt in deterministic key order (plain items pass through as is).

    Messages are a few fixed map shapes (claims, headers, GATT maps), so the order of a shape is
    computed on first use and then looked up by the tuple of its keys and their types (the types
    keep 1 and True apart). Enum keys come back as the plain int/str they encode as.
    """
    kind = type(value)
    if kind in _PLAIN_TYPES:
        return value
    if kind is dict or isinstance(value, dict):
        if len(value) < 2:  # nothing to order
            return {k: v if type(v) in _PLAIN_TYPES else _canonical(v) for k, v in value.items()}
        keys = tuple(value)
        values = list(value.values())
        shape = (keys, tuple(map(type, keys)))
        order = _orders.get(shape)
        if order is None:
            order = _sort_shape(keys, shape)
        return {k: v if type(v := values[i]) in _PLAIN_TYPES else _canonical(v) for i, k in order}
    if kind is list or isinstance(value, (list, tuple)):
        return [v if type(v) in _PLAIN_TYPES else _canonical(v) for v in value]
    if isinstance(value, cbor2.CBORTag):
        return cbor2.CBORTag(value.tag, _canonical(value.value))
    return value


class _ThreadEncoder(threading.local):
    """One cbor2 encoder per thread, reused: building one costs more than encoding a grant.

    After a refused value the next call starts from an empty buffer; cbor2 unwinds its own
    cycle guard when it raises (checked by the tests).
    """

    def __init__(self) -> None:
        self.buffer = io.BytesIO()
        self.encoder = cbor2.CBOREncoder(self.buffer)

    def dumps(self, value: Any) -> bytes:
        self.buffer.seek(0)
        self.buffer.truncate()
        self.encoder.encode(value)
        return self.buffer.getvalue()


_thread_encoder = _ThreadEncoder()


def encode(value: Any) -> bytes:
    """Core deterministic encoding (RFC 8949 §4.2.1): shortest heads, keys sorted bytewise."""
    return _thread_encoder.dumps(_canonical(value))
