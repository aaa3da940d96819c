"""Today's route: the stops in order with their status and progress, the current stop highlighted."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from driver_app.core.state import RouteState, StopPhase
from driver_app.tui.route_view import StopRow, stop_rows
from driver_app.tui.screens.base import LobbyScreen
from driver_app.tui.text import literal
from driver_app.tui.widgets.activity import ActivityLine
from driver_app.tui.widgets.notice import NoticeBox
from driver_app.tui.widgets.verdict import VerdictLine

_MARKS = {StopPhase.DELIVERED: "✓", StopPhase.IDLE: "·"}


def stop_prompt(row: StopRow) -> Content:
    mark = "▶" if row.current else _MARKS.get(row.phase, "…")
    prompt = Content.assemble(
        f"{mark} {row.sequence:>2}. ",
        literal(row.address),
        f"\n   {row.status} · {row.parcels} · {row.window}",
    )
    if row.current:
        return prompt.stylize("bold")
    return prompt.stylize("dim") if row.phase is StopPhase.DELIVERED else prompt


def progress_content(rows: list[StopRow]) -> Content:
    done = sum(row.phase is StopPhase.DELIVERED for row in rows)
    width = 10
    filled = round(width * done / len(rows)) if rows else 0
    return Content(f"{'█' * filled}{'░' * (width - filled)} {done}/{len(rows)} stops delivered")


class RouteScreen(LobbyScreen):
    """Scanning a parcel here (scanner or camera-less wedge) opens its stop with the parcel counted."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "reload", "Reload", id="route.reload", tooltip="Fetch today's route again"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._current: str | None = None  # the workflow's current stop at the last render

    def compose_body(self) -> ComposeResult:
        yield Static(id="driver")
        yield Static(id="progress")
        yield OptionList(id="stops")
        yield VerdictLine()
        yield ActivityLine(self.driver_app.clock.monotonic, id="activity")
        yield NoticeBox(self.driver_app.clock.monotonic, id="notice")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one(OptionList).focus()

    def show_state(self, state: RouteState) -> None:
        rows = stop_rows(state)
        name = literal(state.driver_name) if state.driver_name else Content("")
        self.query_one("#driver", Static).update(Content.assemble("Driver: ", name))
        self.query_one("#progress", Static).update(progress_content(rows))
        stops = self.query_one(OptionList)
        moved = state.current_stop_id != self._current  # e.g. delivered: the cursor follows, Enter continues
        self._current = state.current_stop_id
        kept = stops.highlighted_option.id if stops.highlighted_option else None
        highlighted = state.current_stop_id if moved or kept is None else kept
        stops.clear_options()
        stops.add_options(Option(stop_prompt(row), id=row.stop_id) for row in rows)
        index = next((i for i, row in enumerate(rows) if row.stop_id == highlighted), None)
        stops.highlighted = index if index is not None else (0 if rows else None)
        self.query_one(NoticeBox).show(state.notice, state.retry)

    @on(OptionList.OptionSelected, "#stops")
    def _open(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is not None:
            self.driver_app.open_stop(event.option.id)

    def action_reload(self) -> None:
        self.driver_app.load_route()
