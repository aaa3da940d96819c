"""The unlock's progress: each step with the time it took, ✓ done, ✗ failed, ▶ running."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from driver_app.core.state import StopPhase, StopState

__all__ = ["UNLOCK_STEPS", "PhaseList", "phase_content", "step_label"]

UNLOCK_STEPS: tuple[tuple[StopPhase, str], ...] = (
    (StopPhase.FINDING_DOOR, "Finding door"),
    (StopPhase.REQUESTING_GRANT, "Requesting grant"),
    (StopPhase.CONNECTING, "Connecting"),
    (StopPhase.VERIFYING, "Verifying"),
)


def step_label(phase: StopPhase) -> str:
    return dict(UNLOCK_STEPS).get(phase, phase.value.replace("_", " ").capitalize())


def phase_content(stop: StopState) -> Content:
    """One line per step the stop has been through or is in; then, once open, scan→open in total.

    The Open line shows the whole scan-to-open time, not how long the door stood open before `d`.
    """
    spent = {t.phase: t.seconds for t in stop.timings}
    lines: list[Content] = []
    for phase, label in UNLOCK_STEPS:
        if phase is stop.phase:
            lines.append(Content.styled(f"▶ {label}…", "bold"))
        elif phase is stop.failed_phase:
            took = f"{spent[phase]:6.2f} s" if phase in spent else ""
            lines.append(Content.styled(f"✗ {label:<17}{took}", "bold"))
        elif phase in spent:
            lines.append(Content(f"✓ {label:<17}{spent[phase]:6.2f} s"))
    total = stop.seconds_to_open
    if total is not None:
        lines.append(Content.styled(f"✓ {'Open, scan→open':<17}{total:6.2f} s", "bold"))
    return Content("\n").join(lines)


class PhaseList(Static):
    DEFAULT_CSS = """
    PhaseList { height: auto; padding: 0 1; }
    """

    def show(self, stop: StopState | None) -> None:
        self.update(phase_content(stop) if stop else "")
