"""`?` / F1: the keys that can act right now on the screen underneath, with what each does."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

__all__ = ["HelpEntry", "HelpScreen", "help_content"]

#: (key as shown, short name, what it does)
HelpEntry = tuple[str, str, str]


def help_content(entries: Sequence[HelpEntry]) -> Content:
    if not entries:
        return Content("No key can act here right now.")
    width = max(len(key) for key, _, _ in entries)
    lines = [
        Content.assemble(
            (f"{key:>{width}} ", "bold"), name, (f"\n{'':>{width}} {what}" if what else "", "dim")
        )
        for key, name, what in entries
    ]
    return Content("\n").join([Content.styled("Keys that work now", "bold underline"), *lines])


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,f1,q", "dismiss_help", "Close", id="help.close", tooltip="Close help")
    ]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 100%; max-width: 70; height: auto; max-height: 100%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    """

    def __init__(self, entries: Sequence[HelpEntry]) -> None:
        super().__init__()
        self._entries = entries

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(help_content(self._entries), id="help")

    def action_dismiss_help(self) -> None:
        self.dismiss(None)
