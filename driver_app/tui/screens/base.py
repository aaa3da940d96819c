"""The frame every screen shares: header, the demo banner when secrets are not persisted, footer."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from driver_app.core.state import RouteState

if TYPE_CHECKING:
    from driver_app.tui.app import DriverApp

DEMO_BANNER = "DEMO — credentials kept in memory only"


class LobbyScreen(Screen[None]):
    """Subclasses compose their body in `compose_body` and render state in `show_state`."""

    @property
    def driver_app(self) -> DriverApp:
        return cast("DriverApp", self.app)

    def compose(self) -> ComposeResult:
        yield Header()
        if self.driver_app.demo:
            yield Static(DEMO_BANNER, classes="demo-banner")
        yield from self.compose_body()
        yield Footer()

    def compose_body(self) -> ComposeResult:
        yield from ()

    def on_mount(self) -> None:
        self.watch(self.app, "route_state", self._state_changed)

    def _state_changed(self, state: RouteState) -> None:
        self.show_state(state)
        self.refresh_bindings()

    def show_state(self, state: RouteState) -> None:
        """Render the workflow's latest snapshot; called on mount and after every change."""
