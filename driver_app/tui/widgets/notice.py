"""The box that shows the core's `Notice`: what went wrong, what to do next, and whether it retries.

A retrying notice counts down to its next attempt (the core says when), never up.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from textual.content import Content
from textual.timer import Timer
from textual.widgets import Static

from driver_app.core.state import Notice, RetryCountdown
from driver_app.tui.text import literal

__all__ = ["NoticeBox", "notice_content"]


def notice_content(notice: Notice, now: float | None = None, retry: RetryCountdown | None = None) -> Content:
    """Message, then the next action on its own line; both literal (they may quote server text).

    A retrying notice says which attempt comes next and counts down to it: from the workflow's
    `retry` countdown when it runs one, else from the notice's own `retry_at`.
    """
    action = notice.next_action
    if notice.retrying and retry is not None:
        asked = " (as the service asked)" if retry.service_asked else ""
        left = retry.whole_seconds_left
        when = f"in {left} s" if left > 0 else "now"
        action = f"Retrying (attempt {retry.attempt} of {retry.attempts}) {when}{asked}…"
    elif notice.retrying and notice.retry_at is not None and now is not None:
        left = math.ceil(notice.retry_at - now)
        action = f"Retrying in {left} s…" if left > 0 else "Retrying now…"
    mark = "⟳ " if notice.retrying else "✗ "
    lines = [Content(mark).append(literal(notice.message)), Content("→ ").append(literal(action))]
    return Content("\n").join(lines)


class NoticeBox(Static):
    """Hidden while there is nothing to say."""

    DEFAULT_CSS = """
    NoticeBox {
        display: none;
        height: auto;
        padding: 0 1;
        border-left: thick $error;
        background: $error 15%;
    }
    NoticeBox.-shown { display: block; }
    NoticeBox.-retrying { border-left: thick $warning; background: $warning 15%; }
    """

    def __init__(self, monotonic: Callable[[], float], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._monotonic = monotonic
        self._notice: Notice | None = None
        self._retry: RetryCountdown | None = None
        self._timer: Timer | None = None

    def show(self, notice: Notice | None, retry: RetryCountdown | None = None) -> None:
        self._notice, self._retry = notice, retry
        self.set_class(notice is not None, "-shown")
        self.set_class(bool(notice and notice.retrying), "-retrying")
        counting = notice is not None and notice.retrying and notice.retry_at is not None and retry is None
        if counting and self._timer is None:
            self._timer = self.set_interval(0.5, self.render_now)
        elif not counting and self._timer is not None:
            self._timer.stop()
            self._timer = None
        self.render_now()

    def render_now(self) -> None:
        notice = self._notice
        self.update(notice_content(notice, self._monotonic(), self._retry) if notice else "")
