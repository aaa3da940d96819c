"""One stop: address, parcels, scanning (camera, wedge or typed), unlock with its phases, deliver."""

from __future__ import annotations

from typing import ClassVar

import math

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.timer import Timer
from textual.widgets import Input, Static

from driver_app.core.ports import Scan, ScanSource
from driver_app.core.state import RouteState, StopPhase, StopState
from driver_app.tui.route_view import door_choices, package_rows, stop_row
from driver_app.tui.screens.base import LobbyScreen
from driver_app.tui.screens.door_picker import door_label
from driver_app.tui.text import literal
from driver_app.tui.widgets.camera import CameraPanel
from driver_app.tui.widgets.notice import NoticeBox
from driver_app.tui.widgets.phases import PhaseList
from driver_app.tui.widgets.verdict import VerdictLine


class StopScreen(LobbyScreen):
    """Always shows the workflow's current stop; the route screen selects it before pushing this."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("u", "unlock", "Unlock", id="stop.unlock", tooltip="Open the strongest door of this stop"),
        Binding("c", "choose_door", "Door…", id="stop.choose_door", tooltip="Pick which entrance to open"),
        Binding("d", "deliver", "Deliver", id="stop.deliver", tooltip="Confirm the parcels are delivered"),
        Binding("m", "manual", "Type", id="stop.manual", tooltip="Type a barcode by hand"),
        Binding("k", "camera", "Camera", id="stop.camera", tooltip="Start or stop the camera scanner"),
        Binding("escape", "back", "Route", id="stop.back", tooltip="Back to the route"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._relock: Timer | None = None

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="stop"):
            yield Static(id="address")
            yield Static(id="packages")
            yield VerdictLine()
            yield Input(id="manual", placeholder="type a barcode, Enter")
            yield CameraPanel(self.driver_app.camera, id="camera")
            yield PhaseList()
            yield Static(id="door")
            yield Static(id="relock")
            yield NoticeBox(id="notice")

    @property
    def stop(self) -> StopState | None:
        return self.driver_app.route_state.current_stop

    def show_state(self, state: RouteState) -> None:
        stop = state.current_stop
        row = stop_row(state, state.current_stop_id)
        if stop is None or row is None:
            self.query_one("#address", Static).update("No stop selected")
            return
        self.query_one("#address", Static).update(
            Content.assemble((f"Stop {row.sequence}: ", "bold"), literal(row.address).stylize("bold"))
        )
        packages = [
            Content.assemble(
                "✓ " if p.scanned else "□ ", literal(p.package_id), literal(f"  unit {p.unit}" if p.unit else "")
            )
            for p in package_rows(state, stop.stop_id)
        ]
        self.query_one("#packages", Static).update(Content("\n").join(packages))
        self.query_one(PhaseList).show(stop)
        door = next((d for d in door_choices(state, stop.stop_id) if d.door_id == stop.door_id), None)
        self.query_one("#door", Static).update(Content.assemble("Door: ", door_label(door)) if door else "")
        self.query_one(NoticeBox).show(stop.notice or state.notice)
        self._watch_relock(stop)

    def _watch_relock(self, stop: StopState) -> None:
        counting = stop.phase is StopPhase.UNLOCKED and stop.relock_at is not None
        if counting and self._relock is None:
            self._relock = self.set_interval(0.5, self._show_relock)
        elif not counting and self._relock is not None:
            self._relock.stop()
            self._relock = None
        self._show_relock()

    def _show_relock(self) -> None:
        stop = self.stop
        widget = self.query_one("#relock", Static)
        if stop is None or stop.phase is not StopPhase.UNLOCKED or stop.relock_at is None:
            widget.update("")
            return
        left = stop.relock_at - self.driver_app.clock.monotonic()
        widget.update(Content(f"Relocks in {math.ceil(left)} s" if left > 0 else "Door locked again"))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        stop = self.stop
        phase = stop.phase if stop else None
        if action == "unlock":
            return phase is StopPhase.SCANNED
        if action == "choose_door":
            doors = door_choices(self.driver_app.route_state, stop.stop_id) if stop else []
            return phase is StopPhase.SCANNED and len(doors) > 1
        if action == "deliver":
            return phase is StopPhase.UNLOCKED
        if action == "camera":
            return self.driver_app.camera is not None
        return True

    def action_unlock(self) -> None:
        self.driver_app.unlock()

    def action_choose_door(self) -> None:
        self.driver_app.choose_door()

    def action_deliver(self) -> None:
        self.driver_app.deliver()

    def action_manual(self) -> None:
        self.query_one("#manual", Input).focus()

    def action_camera(self) -> None:
        camera = self.query_one(CameraPanel)
        camera.stop() if camera.running else camera.start()

    def action_back(self) -> None:
        if self.focused is self.query_one("#manual", Input):
            self.set_focus(None)
            return
        self.query_one(CameraPanel).stop()
        self.app.pop_screen()

    @on(Input.Submitted, "#manual")
    def _typed(self, event: Input.Submitted) -> None:
        """Focus leaves the field, so the next key (unlock) is one key, as after any other scan."""
        if event.value.strip():
            self.driver_app.submit_scan(Scan(event.value, ScanSource.MANUAL))
        event.input.clear()
        self.set_focus(None)
