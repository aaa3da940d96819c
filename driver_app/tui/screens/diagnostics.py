"""What the handheld knows about its surroundings: service, BLE, camera, keyring, outbox."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from driver_app.core.state import RouteState
from driver_app.tui.route_view import door_choices
from driver_app.tui.screens.base import LobbyScreen
from driver_app.tui.text import literal


def diagnostics_content(app_info: Mapping[str, Content], state: RouteState) -> Content:
    """Label: value lines; every value that came from outside is already literal `Content`."""
    stop = state.current_stop
    doors = [d for d in door_choices(state, stop.stop_id) if d.rssi is not None] if stop else []
    heard = (
        [Content.assemble("  ", literal(d.name), f" ({d.rssi} dBm)") for d in doors]
        if doors
        else [Content("  none heard at the current stop")]
    )
    lines = [
        Content.assemble(("Access service: ", "bold"), app_info["access"]),
        Content(
            "  answered the last call"
            if state.online
            else "  not reached (no answer yet or last call failed)"
        ),
        Content.assemble(("BLE mode: ", "bold"), app_info["ble"]),
        Content.styled("Nearby doors:", "bold"),
        *heard,
        Content.assemble(("Camera: ", "bold"), app_info["camera"]),
        Content.assemble(("Keyring: ", "bold"), app_info["keyring"]),
        Content.assemble(("Outbox: ", "bold"), f"{state.outbox_size} waiting to sync"),
        Content(f"  {state.outbox_held} held (refused), {state.outbox_waiting} for another driver"),
        *(
            Content.assemble(
                f"  #{item.item_id} {item.kind} ", literal(item.key), " held: ", literal(item.reason)
            )
            for item in state.held
        ),
    ]
    return Content("\n").join(lines)


class DiagnosticsScreen(LobbyScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back", id="diagnostics.back", tooltip="Close diagnostics")
    ]

    def compose_body(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(id="diagnostics")

    def show_state(self, state: RouteState) -> None:
        content = diagnostics_content(self.driver_app.environment(), state)
        self.query_one("#diagnostics", Static).update(content)
