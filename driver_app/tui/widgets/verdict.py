"""The answer to the last scan, from any source and on any screen: what was read and what it means."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from driver_app.core.ports import Scan
from driver_app.core.state import ScanVerdict, ScanVerdictKind
from driver_app.tui.text import literal

__all__ = ["VerdictLine", "verdict_content"]

# A mark and a weight per kind as well as a colour: under NO_COLOR a warning must not be the dimmest line.
_STYLES = {
    ScanVerdictKind.MATCHED: ("✓", "$success"),
    ScanVerdictKind.ALREADY_SCANNED: ("⚠", "bold $warning"),
    ScanVerdictKind.OTHER_STOP: ("✗", "bold $error"),
    ScanVerdictKind.UNKNOWN: ("✗", "bold $error"),
}


def verdict_content(scan: Scan, verdict: ScanVerdict) -> Content:
    """Read text first (literal, it is from outside), then the core's verdict message."""
    read = Content.assemble(f"{scan.source}: ", literal(scan.text))
    mark, style = _STYLES[verdict.kind]
    return Content("\n").join([read, Content(f"{mark} ").append(literal(verdict.message)).stylize(style)])


class VerdictLine(Static):
    DEFAULT_CSS = """
    VerdictLine { height: auto; padding: 0 1; }
    """

    def on_mount(self) -> None:
        self.watch(self.app, "last_scan", self._show)

    def _show(self, last: tuple[Scan, ScanVerdict] | None) -> None:
        self.update(verdict_content(*last) if last else "")
