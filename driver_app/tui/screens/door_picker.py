"""A modal listing the stop's doors, strongest first; it returns the chosen door id (None: cancelled)."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from driver_app.tui.route_view import DoorChoice
from driver_app.tui.text import literal


def door_label(door: DoorChoice) -> Content:
    signal = f"  {door.rssi} dBm" if door.rssi is not None else ""
    return Content.assemble(literal(door.name), " (", literal(door.door_id), ")", (signal, "dim"))


class DoorPickerScreen(ModalScreen[str | None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="door_picker.cancel", tooltip="Keep the automatic choice")
    ]

    def __init__(self, doors: list[DoorChoice]) -> None:
        super().__init__()
        self._doors = doors

    def compose(self) -> ComposeResult:
        with Vertical(id="door-picker"):
            yield Label("Which entrance?")
            yield OptionList(*(Option(door_label(d), id=d.door_id) for d in self._doors))

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
