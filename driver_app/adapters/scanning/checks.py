"""Check digits the symbologies define, used to refuse impossible reads and confirm good ones."""

from __future__ import annotations

from .results import ScanResult, Symbology

__all__ = ["gs1_check_digit_ok", "has_valid_check_digit", "is_plausible"]

_GS1_LENGTHS = {Symbology.EAN13: 13, Symbology.EAN8: 8, Symbology.UPCE: 8}


def gs1_check_digit_ok(digits: str) -> bool:
    """GS1 mod-10: weights 3,1,3,... from the right, excluding the check digit itself."""
    if len(digits) < 2 or not digits.isascii() or not digits.isdigit():
        return False
    body, check = digits[:-1], int(digits[-1])
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


def _upce_to_upca(digits: str) -> str:
    """Expand UPC-E (number system, six digits, check) to the UPC-A body its check digit covers."""
    ns, d, check = digits[0], digits[1:7], digits[7]
    last = d[5]
    if last in "012":
        body = d[0:2] + last + "0000" + d[2:5]
    elif last == "3":
        body = d[0:3] + "00000" + d[3:5]
    elif last == "4":
        body = d[0:4] + "00000" + d[4]
    else:
        body = d[0:5] + "0000" + last
    return ns + body + check


def has_valid_check_digit(result: ScanResult) -> bool:
    """True when the symbology carries a GS1 check digit and it matches.

    EAN/UPC always carry one; ITF carries one when it is an ITF-14 / GS1 container code.
    """
    text = result.raw.decode("ascii", errors="replace")
    if result.symbology in (Symbology.EAN13, Symbology.EAN8):
        return gs1_check_digit_ok(text)
    if result.symbology is Symbology.UPCE:
        return len(text) == 8 and text.isdigit() and gs1_check_digit_ok(_upce_to_upca(text))
    if result.symbology is Symbology.ITF and len(text) == 14:
        return gs1_check_digit_ok(text)
    return False


def is_plausible(result: ScanResult) -> bool:
    """Refuse reads no genuine symbol could produce (wrong length or check digit for EAN/UPC, empty data)."""
    if not result.raw:
        return False
    expected = _GS1_LENGTHS.get(result.symbology)
    if expected is not None:
        return len(result.raw) == expected and has_valid_check_digit(result)
    if result.symbology is Symbology.ITF:
        return result.raw.isdigit() and len(result.raw) % 2 == 0
    return True
