"""Asked before quitting while a door is opening or the outbox still holds items."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

__all__ = ["ConfirmQuitScreen"]


class ConfirmQuitScreen(ModalScreen[bool]):
    """Dismisses with True to quit; anything else keeps the app running."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Quit", id="quit.yes", tooltip="Quit now"),
        Binding("n,escape", "answer(False)", "Stay", id="quit.no", tooltip="Keep working"),
    ]
    DEFAULT_CSS = """
    ConfirmQuitScreen { align: center middle; }
    ConfirmQuitScreen > Vertical {
        width: 100%; max-width: 60; height: auto; border: thick $warning; background: $surface; padding: 0 1;
    }
    """

    def __init__(self, reason: str) -> None:
        super().__init__()
        self._reason = reason

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self._reason, id="quit-reason", markup=False)
            yield Static("Quit anyway?  y quit · n stay", id="quit-question")

    def action_answer(self, quit_now: bool) -> None:
        self.dismiss(quit_now)
