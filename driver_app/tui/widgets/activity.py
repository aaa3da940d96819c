"""A one-line "something is happening" for session-level waits (sign-in, loading the route).

Without it a slow service left the sign-in screen unchanged for seconds; now it shows what runs and
for how long, with the same spinner as the stop's status line.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.content import Content
from textual.timer import Timer
from textual.widgets import Static

from driver_app.tui.widgets.step_line import SPINNER

__all__ = ["Activity", "ActivityLine"]

#: (what is running, when it began on the app clock's monotonic scale)
Activity = tuple[str, float]


class ActivityLine(Static):
    DEFAULT_CSS = """
    ActivityLine { display: none; height: auto; padding: 0 1; text-style: bold; }
    ActivityLine.-shown { display: block; }
    """

    def __init__(self, monotonic: Callable[[], float], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._monotonic = monotonic
        self._activity: Activity | None = None
        self._timer: Timer | None = None

    def on_mount(self) -> None:
        self.watch(self.app, "activity", self.show)

    def show(self, activity: Activity | None) -> None:
        self._activity = activity
        self.set_class(activity is not None, "-shown")
        if activity is not None and self._timer is None:
            self._timer = self.set_interval(0.1, self.render_now)
        elif activity is None and self._timer is not None:
            self._timer.stop()
            self._timer = None
        self.render_now()

    def render_now(self) -> None:
        if self._activity is None:
            self.update("")
            return
        label, began = self._activity
        now = self._monotonic()
        self.update(Content(f"{SPINNER[int(now * 10) % len(SPINNER)]} {label}… {now - began:.1f} s"))
