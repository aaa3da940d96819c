"""The frame every screen shares: top bar, a banner when secrets are not persisted, footer.

Every screen answers every key of its own: a key whose action cannot run now gets a one-line toast
saying why (`why_not`), instead of silence.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ActiveBinding, Screen
from textual.widgets import Footer, Static

from driver_app.core.state import RouteState
from driver_app.tui.widgets.top_bar import TopBar

if TYPE_CHECKING:
    from driver_app.tui.app import DriverApp

DEMO_BANNER = "DEMO — credentials kept in memory only"
MEMORY_BANNER = "Credentials kept in memory only"


class LobbyScreen(Screen[None]):
    """Subclasses compose their body in `compose_body` and render state in `show_state`."""

    @property
    def driver_app(self) -> DriverApp:
        return cast("DriverApp", self.app)

    def compose(self) -> ComposeResult:
        yield TopBar()
        if self.driver_app.demo or self.driver_app.memory_only:
            yield Static(DEMO_BANNER if self.driver_app.demo else MEMORY_BANNER, classes="demo-banner")
        yield from self.compose_body()
        # Compact and without the palette hint: at 40 columns the screen's own keys must fit
        # (Ctrl+P still opens the palette, and `?` lists every key that works now).
        yield Footer(compact=True, show_command_palette=False)

    def compose_body(self) -> ComposeResult:
        yield from ()

    def on_mount(self) -> None:
        self.watch(self.app, "route_state", self._state_changed)

    def _state_changed(self, state: RouteState) -> None:
        self.show_state(state)
        self.refresh_bindings()

    def show_state(self, state: RouteState) -> None:
        """Render the workflow's latest snapshot; called on mount and after every change."""

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        """This screen's actions first, in the order declared, whatever key the keymap gave them.

        Textual orders by key, so a remapped key moved to the end of the footer and, at 40 columns,
        off the screen; the footer and `?` help read this order.
        """
        declared = [b.id for b in self.BINDINGS if isinstance(b, Binding)]

        def rank(item: tuple[str, ActiveBinding]) -> int:
            active = item[1]
            mine = active.node is self and active.binding.id in declared
            return declared.index(active.binding.id) if mine else len(declared)

        return dict(sorted(super().active_bindings.items(), key=rank))

    def why_not(self, action: str) -> str | None:
        """Why `action` cannot run now (shown as a toast when its key is pressed); None: it can."""
        return None

    def keys_shown(self) -> dict[str, str]:
        """This screen's action → the key shown for it, after the user's keymap."""
        return {binding.action: self.app.get_key_display(binding) for _, binding in self._own_bindings()}

    def _own_bindings(self) -> list[tuple[str, Binding]]:
        """(key, binding) pairs of this screen with the keymap applied (Textual applies it per chain)."""
        return [pair for node, bindings in self._binding_chain if node is self for pair in bindings]

    def on_key(self, event: events.Key) -> None:
        """A key bound to one of this screen's actions reaches here only when the action is hidden."""
        for key, binding in self._own_bindings():
            if event.key == key and (reason := self.why_not(binding.action)):
                event.stop()
                self.notify(reason, timeout=3, markup=False)
                return
