"""The top line of every screen: the app, the service and door-radio connections and the outbox.

Marks and words, never colour alone (NO_COLOR and TERM=dumb terminals must read the same). It
replaces Textual's Header, whose title watcher can fire after a fast screen switch removed its title.
"""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from driver_app.core.state import RouteState

__all__ = ["TopBar", "top_bar_content"]


def top_bar_content(title: str, state: RouteState) -> Content:
    connection = ("● online", "bold") if state.online else ("✗ offline", "bold reverse")
    parts: list[Content | str | tuple[str, str]] = [
        (title, "bold"),
        "  ",
        connection,
    ]
    if state.radio_available is not None:  # unknown until the first listen for doors
        parts.append(" · radio ✓" if state.radio_available else (" · radio ✗", "bold reverse"))
    parts.append(f" · outbox {state.outbox_size}")
    if state.held:  # refused by the service and kept: the driver should know they are there
        parts.append((f" ({len(state.held)} held)", "bold"))
    return Content.assemble(*parts)


class TopBar(Static):
    DEFAULT_CSS = """
    TopBar { height: 1; width: 1fr; padding: 0 1; background: $primary-background; }
    """

    def on_mount(self) -> None:
        self.watch(self.app, "route_state", self._show)

    def _show(self, state: RouteState) -> None:
        self.update(top_bar_content(self.app.title, state))
