"""One stop: address, window, parcels, scanning (camera, wedge or typed), unlock with its steps, deliver.

The status line and the notice are docked above the footer, so at 40×20 the step, its outcome and the
next action stay on screen whatever the camera preview takes; the preview shrinks on short screens.
"""

from __future__ import annotations

from typing import ClassVar

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
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
from driver_app.tui.widgets.step_line import BUSY, StepLine
from driver_app.tui.widgets.verdict import VerdictLine

#: Below this many rows the camera preview takes half its height.
SHORT_SCREEN = 30


class StopScreen(LobbyScreen):
    """Always shows the workflow's current stop; the route screen selects it before pushing this."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("u", "unlock", "Unlock", id="stop.unlock", tooltip="Open the strongest door of this stop"),
        Binding("d", "deliver", "Deliver", id="stop.deliver", tooltip="Confirm the parcels are delivered"),
        Binding("k", "camera", "Camera", id="stop.camera", tooltip="Start or stop the camera scanner"),
        Binding("m", "manual", "Type", id="stop.manual", tooltip="Type a barcode by hand"),
        Binding("c", "choose_door", "Door…", id="stop.choose_door", tooltip="Pick which entrance to open"),
        Binding("escape", "back", "Route", id="stop.back", tooltip="Back to the route"),
    ]

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="stop"):
            yield Static(id="address")
            yield Static(id="window")
            yield Static(id="packages")
            yield VerdictLine()
            yield Input(id="manual", placeholder="type a barcode, Enter")
            yield CameraPanel(self.driver_app.camera, id="camera")
            yield PhaseList()
            yield Static(id="door")
        with Vertical(id="status"):
            yield StepLine(self.driver_app.clock.monotonic, id="step")
            yield NoticeBox(self.driver_app.clock.monotonic, id="notice")

    @property
    def stop(self) -> StopState | None:
        return self.driver_app.route_state.current_stop

    def on_mount(self) -> None:
        """With a camera configured and parcels still to scan, the camera starts at once: one key fewer
        per stop (`k` still stops and restarts it)."""
        super().on_mount()
        stop = self.stop
        if stop is not None and self.driver_app.camera is not None:
            to_scan = [p for p in package_rows(self.driver_app.route_state, stop.stop_id) if not p.scanned]
            if to_scan and stop.phase is not StopPhase.DELIVERED:
                self.query_one(CameraPanel).start()

    def on_resize(self, event: events.Resize) -> None:
        self.set_class(event.size.height < SHORT_SCREEN, "-short")

    def on_unmount(self) -> None:
        """Leaving the stop: its scan message goes (it belongs to this stop); removing the camera
        panel already cancelled its worker."""
        self.driver_app.last_scan = None

    def show_state(self, state: RouteState) -> None:
        stop = state.current_stop
        row = stop_row(state, state.current_stop_id)
        if stop is None or row is None:
            self.query_one("#address", Static).update("No stop selected")
            return
        self.query_one("#address", Static).update(
            Content.assemble((f"Stop {row.sequence}: ", "bold"), literal(row.address).stylize("bold"))
        )
        self.query_one("#window", Static).update(f"Window {row.window}")
        packages = package_rows(state, stop.stop_id)
        lines = [
            Content.assemble(
                "✓ " if p.scanned else "□ ",
                literal(p.package_id),
                literal(f"  unit {p.unit}" if p.unit else ""),
            )
            for p in packages
        ]
        self.query_one("#packages", Static).update(Content("\n").join(lines))
        if packages and all(p.scanned for p in packages):  # nothing left to read: stop reading
            self.query_one(CameraPanel).stop()
        phases = self.query_one(PhaseList)
        phases.show(stop)
        if stop.phase is not StopPhase.IDLE and stop.timings:
            phases.scroll_visible(animate=False)
        door = next((d for d in door_choices(state, stop.stop_id) if d.door_id == stop.door_id), None)
        self.query_one("#door", Static).update(Content.assemble("Door: ", door_label(door)) if door else "")
        self.query_one(StepLine).show(stop, self.keys_shown())
        self.query_one(NoticeBox).show(stop.notice or state.notice, state.retry)

    def on_step_line_relocked(self) -> None:
        self.refresh_bindings()

    def _relocked(self, stop: StopState) -> bool:
        return stop.relock_at is None or stop.relock_at <= self.driver_app.clock.monotonic()

    def why_not(self, action: str) -> str | None:
        stop = self.stop
        phase = stop.phase if stop else None
        if stop is None or phase is StopPhase.DELIVERED:
            return "This stop is delivered" if action in ("unlock", "choose_door", "deliver") else None
        if action in ("unlock", "choose_door"):
            if phase is StopPhase.IDLE:
                return "Scan a parcel of this stop first"
            if phase in BUSY or self.driver_app.door_busy():
                return "The door is already being opened"
            if phase is StopPhase.UNLOCKED and not self._relocked(stop):
                return "The door is open: deliver the parcels"
            if action == "choose_door" and len(door_choices(self.driver_app.route_state, stop.stop_id)) < 2:
                return "This stop has only one door"
            return None
        if action == "deliver":
            return None if phase is StopPhase.UNLOCKED else "Open the door first"
        if action == "camera" and self.driver_app.camera is None:
            return "No camera configured (--camera)"
        return None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Only what can act now is shown (footer, `?` help, palette); the rest answers with a toast."""
        return self.why_not(action) is None

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
        self.app.pop_screen()

    @on(Input.Submitted, "#manual")
    def _typed(self, event: Input.Submitted) -> None:
        """Focus leaves the field, so the next key (unlock) is one key, as after any other scan."""
        if event.value.strip():
            self.driver_app.submit_scan(Scan(event.value, ScanSource.MANUAL))
        event.input.clear()
        self.set_focus(None)
