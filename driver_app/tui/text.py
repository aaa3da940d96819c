"""Outside text (barcodes, server messages, names) rendered literally, never as markup or escapes."""

from __future__ import annotations

from textual.content import Content

from driver_app.core.display_text import printable

__all__ = ["literal"]


def literal(text: str | None, *, placeholder: str = "") -> Content:
    """`Content` built from the text itself: no markup parsing, control characters made visible."""
    return Content(printable(text) if text is not None else placeholder)
