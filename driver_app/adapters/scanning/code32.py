"""Code 32 (Italian pharmacode): a Code 39 symbol carrying a 9-digit number in base 32.

The symbology defines the printed form as "A" + the nine digits, the last a mod-10 check digit,
so a 6-character Code 39 read in the Code 32 alphabet whose decoded check digit matches is
reported as Code 32 (zxing-cpp does the same).
"""

from __future__ import annotations

__all__ = ["as_code32"]

_ALPHABET = "0123456789BCDFGHJKLMNPQRSTUVWXYZ"


def _check_digit(digits: str) -> int:
    total = 0
    for index, digit in enumerate(digits):
        value = int(digit) * (2 if index % 2 else 1)
        total += value // 10 + value % 10
    return total % 10


def as_code32(code39: bytes) -> bytes | None:
    """The Code 32 text for a Code 39 payload, or None when it is not a valid Code 32."""
    if len(code39) != 6:
        return None
    text = code39.decode("ascii", errors="replace")
    if any(char not in _ALPHABET for char in text):
        return None
    number = 0
    for char in text:
        number = number * 32 + _ALPHABET.index(char)
    digits = f"{number:09d}"
    if len(digits) != 9 or _check_digit(digits[:8]) != int(digits[8]):
        return None
    return b"A" + digits.encode("ascii")
