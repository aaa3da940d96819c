"""Make outside text (barcode payloads, server messages) safe to show on a terminal.

Such text must appear literally: a control character or escape sequence could move the
cursor, recolour or retitle the terminal, and bidi overrides could reorder what the driver
reads. Every such character becomes a visible escape like `\\x1b`; the TUI then shows the
result as plain `Content`/`Text`, never as markup.
"""

from __future__ import annotations

import unicodedata

__all__ = ["barcode_text", "printable"]

_NAMED = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(char: str) -> str:
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _unsafe(char: str) -> bool:
    # Cc: C0, DEL, C1 controls; Cf: format chars incl. bidi overrides/isolates and zero-width joiners;
    # Cs/Co/Cn: surrogates, private use and unassigned code points; Zl/Zp: line/paragraph separators.
    return char in _NAMED or unicodedata.category(char) in {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def printable(text: str) -> str:
    """`text` with every control, format and separator character replaced by a visible escape.

    Backslash is escaped too, so the output is unambiguous: a literal `\\x1b` in the input shows
    as `\\\\x1b`, an ESC character as `\\x1b`.
    """
    return "".join(_escape(char) if _unsafe(char) else char for char in text)


def barcode_text(raw: bytes) -> str:
    """Printable text for a barcode payload: UTF-8 when valid, else each undecodable byte as `\\xNN`."""
    # surrogateescape carries each invalid byte as U+DC80..U+DCFF, which _escape_raw turns back into \xNN.
    return "".join(
        _escape_raw(char) if _unsafe(char) else char for char in raw.decode("utf-8", "surrogateescape")
    )


def _escape_raw(char: str) -> str:
    code = ord(char)
    return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else _escape(char)
