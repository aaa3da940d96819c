"""The box that shows the core's `Notice`: what went wrong, what to do next, and whether it retries."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from driver_app.core.state import Notice
from driver_app.tui.text import literal

__all__ = ["NoticeBox", "notice_content"]


def notice_content(notice: Notice) -> Content:
    """Message, then the next action on its own line; both literal (they may quote server text)."""
    return Content("\n").join([literal(notice.message), Content("→ ").append(literal(notice.next_action))])


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

    def show(self, notice: Notice | None) -> None:
        self.set_class(notice is not None, "-shown")
        self.set_class(bool(notice and notice.retrying), "-retrying")
        self.update(notice_content(notice) if notice else "")
