"""The one emulation-only HCI command: a simulated handheld tells the virtual radio where it is.

A real phone is wherever its driver stands; an emulated one attached to a mock building's radio
says so with this vendor-specific command (OGF 0x3F) on its own HCI attachment, naming a place the
radio knows (a building id). The radio answers with a Command Complete whose only return parameter
is a status byte: 0 (placed) or 0x12, Invalid HCI Command Parameters (no such place). Both the
mock building's radio and the driver app's sim backend use these helpers; nothing in the product
sends them to a real controller.
"""

from __future__ import annotations

PLACE_HANDHELD_OPCODE = (0x3F << 10) | 0x0150
"""Vendor-specific opcode (OGF 0x3F, OCF 0x150)."""
PLACE_NAME_MAX = 64
STATUS_PLACED = 0x00
STATUS_UNKNOWN_PLACE = 0x12


def encode_place(place: str) -> bytes:
    """The command's parameters: the place name in UTF-8 (1..64 bytes)."""
    raw = place.encode()
    if not 0 < len(raw) <= PLACE_NAME_MAX:
        raise ValueError(f"a place name is 1-{PLACE_NAME_MAX} bytes of UTF-8, got {len(raw)}")
    return raw


def decode_place(parameters: bytes) -> str | None:
    """The place a command names, or None when the parameters cannot be one."""
    if not 0 < len(parameters) <= PLACE_NAME_MAX:
        return None
    try:
        return parameters.decode()
    except UnicodeDecodeError:
        return None
