"""The driver's Textual app: owns the workflow, runs every core call in a worker, renders its state.

Attributes down, messages up: the workflow's `on_change` posts `WorkflowChanged`; its handler sets
`route_state`, which every screen watches. Screens call the app's actions; only the app's workers
touch the workflow, and nothing here touches an adapter.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import ClassVar

from textual import events, work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.message import Message
from textual.reactive import var
from textual.screen import Screen
from textual.widgets import Input

from driver_app.core.display_text import printable
from driver_app.core.errors import WorkflowError
from driver_app.core.messages import notice_for_error
from driver_app.core.ports import Clock, Scan, ScanSource
from driver_app.core.state import Notice, RouteState, ScanVerdict, ScanVerdictKind, StopPhase
from driver_app.settings import Settings
from driver_app.tui.contract import CameraFactory, WorkflowFactory
from driver_app.tui.keymap import binding_ids, unknown_ids
from driver_app.tui.route_view import door_choices, stop_row
from driver_app.tui.screens.confirm_quit import ConfirmQuitScreen
from driver_app.tui.screens.diagnostics import DiagnosticsScreen
from driver_app.tui.screens.door_picker import DoorPickerScreen
from driver_app.tui.screens.help import HelpEntry, HelpScreen
from driver_app.tui.screens.route import RouteScreen
from driver_app.tui.screens.sign_in import SignInScreen
from driver_app.tui.screens.stop import StopScreen
from driver_app.tui.text import literal
from driver_app.tui.wedge import WedgeDetector
from driver_app.tui.widgets.activity import Activity
from driver_app.tui.widgets.camera import CameraPanel

__all__ = ["DriverApp", "WorkflowChanged"]


class WorkflowChanged(Message):
    """A new state snapshot; only the newest matters, so it replaces one still queued."""

    def __init__(self, state: RouteState) -> None:
        super().__init__()
        self.state = state

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, WorkflowChanged)


class DriverApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "LobbyKey"
    # Only `?` is in the footer: at 40 columns it is the stop's own keys that must fit; the rest is
    # listed by `?` help and the command palette.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark,f1", "help", "Help", id="app.help", tooltip="The keys that work now"),
        Binding(
            "f2",
            "diagnostics",
            "Diagnostics",
            id="app.diagnostics",
            show=False,
            tooltip="Service, BLE, camera, keyring, outbox",
        ),
        Binding(
            "ctrl+r",
            "sync",
            "Sync",
            id="app.sync",
            show=False,
            tooltip="Send queued receipts and deliveries now",
        ),
        Binding(
            "ctrl+q",
            "quit",
            "Quit",
            id="app.quit",
            show=False,
            tooltip="Quit (asks first if work is pending)",
        ),
        Binding(
            "ctrl+o",
            "sign_out",
            "Sign out",
            id="app.sign_out",
            show=False,
            tooltip="End the session here and at the service (queued items stay in the outbox)",
        ),
    ]

    route_state: var[RouteState] = var(RouteState, always_update=True)
    last_scan: var[tuple[Scan, ScanVerdict] | None] = var(None)
    session_notice: var[Notice | None] = var(None)
    activity: var[Activity | None] = var(None)  # a session-level wait the screens show (sign-in, route)

    def __init__(
        self,
        workflow_factory: WorkflowFactory,
        settings: Settings,
        *,
        clock: Clock,
        camera: CameraFactory | None = None,
        key_clock: Callable[[], float] = time.monotonic,
        demo: bool = False,
        log_file: Path | None = None,
    ) -> None:
        dumb = os.environ.get("TERM") == "dumb"
        if dumb:  # no colours at all, and only the 16 ANSI ones if any: Textual reads NO_COLOR here
            os.environ["NO_COLOR"] = "1"
        super().__init__(ansi_color=dumb)
        self.settings = settings
        self.log_file = log_file  # shown on the diagnostics screen, for support
        self.clock = clock
        self.camera = camera
        self._key_clock = key_clock
        self._wedge = WedgeDetector()
        self._wedge_input: tuple[Input, str] | None = None
        self.workflow = workflow_factory(self._workflow_changed)
        self.demo = demo  # the bundled demo only; a real session with an insecure keyring is not a demo
        self.memory_only = not self.workflow.credentials_persistent
        self.route_state = self.workflow.state

    def _workflow_changed(self, state: RouteState) -> None:
        """Called by the workflow after every change: hand the snapshot to the UI as a message."""
        self.post_message(WorkflowChanged(state))

    def on_mount(self) -> None:
        self.set_keymap(dict(self.settings.keymap))
        known = binding_ids(
            DriverApp,
            SignInScreen,
            RouteScreen,
            StopScreen,
            DiagnosticsScreen,
            DoorPickerScreen,
            HelpScreen,
            ConfirmQuitScreen,
        )
        if unknown := unknown_ids(self.settings.keymap, known):
            listed = ", ".join(printable(i) for i in unknown)
            self.notify(f"Unknown binding ids in keymap: {listed}", severity="warning", markup=False)
        self.push_screen(SignInScreen())
        self.resume_session()

    async def on_unmount(self) -> None:
        await self.workflow.aclose()

    def on_workflow_changed(self, message: WorkflowChanged) -> None:
        self.route_state = message.state

    def environment(self) -> Mapping[str, Content]:
        """Facts for the diagnostics screen that are not part of the workflow state."""
        store = "persistent" if self.workflow.credentials_persistent else "memory only (DEMO)"
        return {
            "access": literal(self.settings.access_url),
            "ble": literal(self.settings.ble_mode),
            "camera": literal(self.settings.camera_source, placeholder="none configured"),
            "keyring": Content.assemble(literal(self.workflow.credentials_description), f", {store}"),
        } | ({"log file": literal(str(self.log_file))} if self.log_file else {})

    # -- session and route ---------------------------------------------------------------------

    @work(exclusive=True, group="session")
    async def resume_session(self) -> None:
        self._begin("Resuming the session")
        try:
            resumed = await self.workflow.resume_session()
        except WorkflowError as err:
            self.session_notice = notice_for_error(err)
            return
        finally:
            self.activity = None
        if resumed:
            await self._start_route()

    @work(exclusive=True, group="session")
    async def sign_in(self, driver_id: str, password: str) -> None:
        self._begin("Signing in")
        try:
            await self.workflow.sign_in(driver_id, password)
        except WorkflowError as err:
            self.session_notice = notice_for_error(err)
            return
        finally:
            self.activity = None
        self.session_notice = None
        await self._start_route()

    async def _start_route(self) -> None:
        if await self._load_route():
            self.switch_screen(RouteScreen())

    @work(exclusive=True, group="route")
    async def load_route(self) -> None:
        await self._load_route()

    async def _load_route(self) -> bool:
        self._begin("Loading today's route")
        try:
            await self.workflow.load_route()
        except WorkflowError as err:
            self.session_notice = notice_for_error(err)
            self.notify(printable(self.session_notice.message), severity="error", markup=False)
            return False
        finally:
            self.activity = None
        return True

    def _begin(self, what: str) -> None:
        self.activity = (what, self.clock.monotonic())

    def open_stop(self, stop_id: str) -> None:
        self.last_scan = None  # a scan message belongs to the stop it was made at
        self.workflow.select_stop(stop_id)
        self.push_screen(StopScreen())

    # -- scanning, unlocking, delivering -------------------------------------------------------

    @work(exclusive=True, group="scan")
    async def submit_scan(self, scan: Scan) -> None:
        """On the route screen a parcel's scan opens its stop, counted: one step fewer per stop."""
        verdict = await self.workflow.submit_scan(scan)
        on_route = isinstance(self.screen, RouteScreen)
        if on_route and verdict.kind is ScanVerdictKind.OTHER_STOP and verdict.stop_id is not None:
            target = self.workflow.state.stops.get(verdict.stop_id)
            if target is not None and target.phase is not StopPhase.DELIVERED:
                self.workflow.select_stop(verdict.stop_id)
                verdict = await self.workflow.submit_scan(scan)
        if on_route and verdict.kind in (ScanVerdictKind.MATCHED, ScanVerdictKind.ALREADY_SCANNED):
            self.push_screen(StopScreen())
        self.last_scan = (scan, verdict)

    def door_busy(self) -> bool:
        return self._busy("door")

    def _busy(self, group: str) -> bool:
        """A door or delivery call is never cancelled by a second key press: the press is ignored."""
        return any(worker.group == group and not worker.is_finished for worker in self.workers)

    def unlock(self, door_id: str | None = None) -> None:
        if not self._busy("door"):
            self._unlock(door_id)

    def choose_door(self) -> None:
        if not self._busy("door"):
            self._choose_door()

    def deliver(self) -> None:
        if not self._busy("deliver"):
            self._deliver()

    @work(exclusive=True, group="door")
    async def _unlock(self, door_id: str | None) -> None:
        await self.workflow.unlock(door_id)

    @work(exclusive=True, group="door")
    async def _choose_door(self) -> None:
        """Listen first, so the picker lists the doors with their signal, strongest first."""
        stop = self.route_state.current_stop
        if stop is None:
            return
        await self.workflow.find_doors()
        choices = door_choices(self.workflow.state, stop.stop_id)
        door_id = await self.push_screen_wait(DoorPickerScreen(choices))
        if door_id is not None:
            await self.workflow.unlock(door_id)

    @work(exclusive=True, group="deliver")
    async def _deliver(self) -> None:
        """Delivered: back to the route, whose cursor is on the next open stop, and say so briefly."""
        before = self.route_state.current_stop_id
        await self.workflow.confirm_delivery()
        state = self.workflow.state
        done = state.stops.get(before) if before else None
        if done is None or done.phase is not StopPhase.DELIVERED:
            return
        row = stop_row(state, before)
        self.notify(f"Stop {row.sequence if row else ''} delivered", timeout=3)
        if isinstance(self.screen, StopScreen):
            self.pop_screen()

    @work(exclusive=True, group="sync")
    async def action_sync(self) -> None:
        """Ctrl+R always answers: what was sent, and what still waits."""
        sent = await self.workflow.sync_outbox()
        left = self.workflow.state.outbox_size
        if left and not self.workflow.state.online:
            message = f"Service not reached: {left} item(s) wait in the outbox"
            self.notify(message, severity="warning", timeout=4)
        else:
            self.notify(f"Outbox: {sent} sent, {left} waiting", timeout=3)

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        entries: list[HelpEntry] = [
            (self.get_key_display(active.binding), active.binding.description, active.tooltip)
            for active in self.screen.active_bindings.values()
            if active.enabled and active.binding.id and active.binding.action != "help"  # ours have ids
        ]
        self.push_screen(HelpScreen(entries))

    async def action_quit(self) -> None:
        """Ask first while a door is opening (a grant is out) or the outbox still holds items."""
        reason = self._quit_concern()
        if reason is None or isinstance(self.screen, ConfirmQuitScreen):
            self.exit()
            return
        self.push_screen(ConfirmQuitScreen(reason), self._quit_answered)

    def _quit_answered(self, quit_now: bool | None) -> None:
        if quit_now:
            self.exit()

    def _quit_concern(self) -> str | None:
        if self._busy("door"):
            return "A door is being opened right now."
        if waiting := self.workflow.state.outbox_size:
            return f"{waiting} item(s) wait in the outbox; they are sent on the next start."
        return None

    @work(exclusive=True, group="session")
    async def action_sign_out(self) -> None:
        told = await self.workflow.sign_out()
        while len(self.screen_stack) > 2:  # the default screen, then the sign-in screen
            self.pop_screen()
        if not isinstance(self.screen, SignInScreen):
            self.switch_screen(SignInScreen())
        if not told:
            self.notify("Signed out here; the service could not be told", severity="warning", markup=False)

    def action_diagnostics(self) -> None:
        if not isinstance(self.screen, DiagnosticsScreen):
            self.push_screen(DiagnosticsScreen())

    def on_camera_panel_read(self, message: CameraPanel.Read) -> None:
        self.submit_scan(message.scan)

    def on_camera_panel_stopped(self, message: CameraPanel.Stopped) -> None:
        if message.problem:
            self.notify(printable(message.problem), severity="error", markup=False)

    # -- keyboard-wedge scanner ----------------------------------------------------------------

    async def on_event(self, event: events.Event) -> None:
        """See every key before any widget does; a fast burst ending in Enter is a scan."""
        if isinstance(event, events.Key) and not event.is_forwarded and self._is_wedge_scan(event):
            return
        await super().on_event(event)

    def _is_wedge_scan(self, event: events.Key) -> bool:
        at = self._key_clock()
        if event.key == "enter":
            text = self._wedge.enter(at)
            if text is None:
                return False
            self._undo_burst_typing()
            self.submit_scan(Scan(text, ScanSource.WEDGE))
            return True
        if isinstance(self.focused, Input) and self.focused.id == "manual":
            self._wedge.reset()  # typed by hand into the field made for it: never a scanner burst
            return False
        if event.is_printable and event.character:
            if self._wedge.char(event.character, at):
                focused = self.focused
                self._wedge_input = (focused, focused.value) if isinstance(focused, Input) else None
        else:
            self._wedge.reset()
        return False

    def _undo_burst_typing(self) -> None:
        """The burst also landed in the focused input, character by character: take it back out."""
        if self._wedge_input is not None:
            field, value = self._wedge_input
            field.value = value
            self._wedge_input = None

    # -- command palette -------------------------------------------------------------------------

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The main actions, offered only when the screen would allow them now.

        Textual's own "Keys" panel is left out: docked at the side it squeezes a 40-column app, and
        `?` help lists the keys that work now.
        """
        yield from (command for command in super().get_system_commands(screen) if command.title != "Keys")
        if isinstance(screen, StopScreen):
            for action, title, help_text in (
                ("unlock", "Unlock door", "Open the strongest door of this stop"),
                ("choose_door", "Choose door", "Pick which entrance to open"),
                ("deliver", "Confirm delivery", "Confirm the parcels are delivered"),
                ("manual", "Type barcode", "Type a parcel's barcode by hand"),
                ("camera", "Camera on/off", "Start or stop the camera scanner"),
                ("back", "Back to route", "Leave this stop"),
            ):
                if screen.check_action(action, ()):
                    yield SystemCommand(title, help_text, getattr(screen, f"action_{action}"))
        if isinstance(screen, RouteScreen):
            yield SystemCommand("Reload route", "Fetch today's route again", screen.action_reload)
        yield SystemCommand("Sync outbox", "Send queued receipts and deliveries now", self.action_sync)
        if self.route_state.driver_name is not None:
            yield SystemCommand("Sign out", "End the session here and at the service", self.action_sign_out)
        yield SystemCommand("Diagnostics", "Service, BLE, camera, keyring, outbox", self.action_diagnostics)
        yield SystemCommand("Help", "The keys that work now", self.action_help)
