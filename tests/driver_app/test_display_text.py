"""Hostile barcode text reaches the UI literally: no control sequence, no markup is interpreted."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.content import Content
from textual.widgets import Static

from driver_app.core.display_text import barcode_text, printable

HOSTILE = "PKG\x1b[2J\x1b]0;pwned\x07[bold red]X[/][@click=app.quit]go[/]\u202eevil\x9b\x7f\r\n"


def test_printable_escapes_every_control_character() -> None:
    shown = printable(HOSTILE)
    assert shown == (
        "PKG\\x1b[2J\\x1b]0;pwned\\x07[bold red]X[/][@click=app.quit]go[/]\\u202eevil\\x9b\\x7f\\r\\n"
    )
    assert shown.isprintable()
    assert printable("a\\x1b") == "a\\\\x1b"  # a literal backslash cannot pose as an escape


def test_barcode_text_keeps_utf8_and_escapes_invalid_bytes() -> None:
    assert barcode_text("Straße 7".encode()) == "Straße 7"
    assert barcode_text(b"ok\xff\xc3\x1b") == "ok\\xff\\xc3\\x1b"


async def test_hostile_text_is_shown_verbatim_in_a_static() -> None:
    class Show(App[None]):
        def compose(self) -> ComposeResult:
            yield Static(Content(printable(HOSTILE)), id="code")

    app = Show()
    async with app.run_test(size=(120, 5)) as pilot:
        static = app.query_one("#code", Static)
        rendered = static.render()
        plain = rendered.plain if hasattr(rendered, "plain") else str(rendered)
        assert plain == printable(HOSTILE)
        assert "[bold red]" in plain and "[@click=app.quit]" in plain
        assert not any(span.style for span in getattr(rendered, "spans", []))
        await pilot.click("#code")
        assert app.is_running  # the [@click=app.quit] text is not a live action
