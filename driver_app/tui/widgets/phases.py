"""The unlock's progress: each phase with the time it took, the one running marked."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from driver_app.core.state import StopPhase, StopState

__all__ = ["UNLOCK_PHASES", "PhaseList", "phase_content"]

UNLOCK_PHASES: tuple[tuple[StopPhase, str], ...] = (
    (StopPhase.FINDING_DOOR, "Finding door"),
    (StopPhase.REQUESTING_GRANT, "Requesting grant"),
    (StopPhase.CONNECTING, "Connecting"),
    (StopPhase.VERIFYING, "Verifying"),
    (StopPhase.UNLOCKED, "Open"),
)


def phase_content(stop: StopState) -> Content:
    """One line per phase the stop has been through or is in; nothing before the first unlock."""
    spent = {t.phase: t.seconds for t in stop.timings}
    lines: list[Content] = []
    for phase, label in UNLOCK_PHASES:
        if phase is stop.phase and phase is not StopPhase.UNLOCKED:
            lines.append(Content.styled(f"▶ {label}…", "bold"))
        elif phase in spent:
            lines.append(Content(f"✓ {label:<17}{spent[phase]:6.2f} s"))
        elif phase is stop.phase:
            lines.append(Content.styled(f"✓ {label}", "bold $success"))
    return Content("\n").join(lines)


class PhaseList(Static):
    DEFAULT_CSS = """
    PhaseList { height: auto; padding: 0 1; }
    """

    def show(self, stop: StopState | None) -> None:
        self.update(phase_content(stop) if stop else "")
