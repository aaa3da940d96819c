"""Shapes of the short identifiers that appear on the wire (door ids, texts, grant ids).

Kept in one place because the advertisement, the grant, the receipt and the HTTP API must
agree byte for byte: a door id has to fit a legacy 31-byte advertisement.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = [
    "DOOR_ID_MAX",
    "GRANT_ID_SIZE",
    "is_door_id",
    "is_grant_id",
    "is_short_text",
    "is_uint",
]

DOOR_ID_MAX = 8
GRANT_ID_SIZE = 16
UINT64_MAX = 2**64 - 1

_DOOR_ID = re.compile(rb"[A-Za-z0-9_.-]{1,8}")
_CONTROL = re.compile("[\x00-\x1f\x7f]")


def is_door_id(value: Any) -> bool:
    """1-8 ASCII letters, digits, '-', '_' or '.'; no personal data fits in that."""
    return isinstance(value, str) and value.isascii() and _DOOR_ID.fullmatch(value.encode()) is not None


def is_grant_id(value: Any) -> bool:
    """A grant id (`cti`) is exactly 16 random bytes."""
    return isinstance(value, bytes) and len(value) == GRANT_ID_SIZE


def is_short_text(value: Any, max_bytes: int) -> bool:
    """A non-empty text string of at most `max_bytes` UTF-8 bytes without control characters."""
    if not isinstance(value, str) or not value:
        return False
    if _CONTROL.search(value):
        return False
    try:
        return len(value.encode("utf-8")) <= max_bytes
    except UnicodeEncodeError:
        return False


def is_uint(value: Any) -> bool:
    """An integer (not a bool) that fits CBOR's unsigned 64-bit range."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= UINT64_MAX
