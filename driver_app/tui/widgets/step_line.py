"""The stop's status line, docked above the footer so it is never below the fold at 40×20.

It says the step running now (spinner and elapsed time), how the last step ended (✓ / ✗ in words,
not colour alone), and the one next action with the key that does it (remapped keys included).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

from textual.content import Content
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Static

from driver_app.core.state import StopPhase, StopState
from driver_app.tui.widgets.phases import step_label

__all__ = ["BUSY", "StepLine", "step_content"]

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
BUSY = frozenset(
    {StopPhase.FINDING_DOOR, StopPhase.REQUESTING_GRANT, StopPhase.CONNECTING, StopPhase.VERIFYING}
)


def _key(keys: Mapping[str, str], action: str, words: str) -> str:
    return f"{keys[action]} {words}" if action in keys else words


def step_content(
    stop: StopState, *, elapsed: float, relock_left: float | None, keys: Mapping[str, str], tick: int = 0
) -> Content:
    """`keys`: action → the key shown for it now; `relock_left`: seconds until the door locks again."""
    phase = stop.phase
    if phase in BUSY:
        spinner = SPINNER[tick % len(SPINNER)]
        return Content.styled(f"{spinner} {step_label(phase)}… {elapsed:.1f} s", "bold")
    if phase is StopPhase.IDLE:
        ways = [f"{keys[a]} {w}" for a, w in (("camera", "camera"), ("manual", "type")) if a in keys]
        hint = " · ".join([*ways, "scanner"])
        return Content.assemble(("Scan a parcel of this stop", "bold"), "\n→ ", hint)
    if phase is StopPhase.SCANNED:
        if stop.notice is not None:  # the notice under this line says what to do
            failed = step_label(stop.failed_phase) if stop.failed_phase else "Unlock"
            return Content.styled(f"✗ {failed} failed", "bold reverse")
        count = len(stop.scanned_package_ids)
        return Content.assemble(
            f"✓ {count} parcel{'s' if count != 1 else ''} scanned", "\n→ ", _key(keys, "unlock", "Unlock")
        )
    if phase is StopPhase.UNLOCKED:
        total = stop.seconds_to_open
        opened = f"✓ Door open · scan→open {total:.2f} s" if total is not None else "✓ Door open"
        if relock_left is not None and relock_left > 0:
            return Content.assemble(
                (opened, "bold"),
                f"\nRelocks in {math.ceil(relock_left)} s → ",
                _key(keys, "deliver", "Deliver"),
            )
        again = _key(keys, "unlock", "reopen")
        deliver = _key(keys, "deliver", "Deliver")
        return Content.assemble(("✓ Door opened, locked again", "bold"), "\n→ ", deliver, " or ", again)
    return Content.styled("✓ Stop delivered", "bold")


class StepLine(Static):
    """Re-renders itself while something moves (spinner, relock countdown); idle otherwise."""

    class Relocked(Message):
        """The relock countdown reached zero: what the driver can do has changed (unlock again)."""

    DEFAULT_CSS = """
    StepLine { height: auto; padding: 0 1; background: $boost; }
    """

    def __init__(self, monotonic: Callable[[], float], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._monotonic = monotonic
        self._stop: StopState | None = None
        self._keys: Mapping[str, str] = {}
        self._since = monotonic()
        self._timer: Timer | None = None

    def show(self, stop: StopState | None, keys: Mapping[str, str]) -> None:
        if stop is None or self._stop is None or stop.phase is not self._stop.phase:
            self._since = self._monotonic()
        self._stop, self._keys = stop, keys
        moving = stop is not None and (stop.phase in BUSY or self._relock_left() is not None)
        if moving and self._timer is None:
            self._timer = self.set_interval(0.1, self.render_now)
        elif not moving and self._timer is not None:
            self._timer.stop()
            self._timer = None
        self.render_now()

    def _relock_left(self) -> float | None:
        stop = self._stop
        if stop is None or stop.phase is not StopPhase.UNLOCKED or stop.relock_at is None:
            return None
        return stop.relock_at - self._monotonic()

    def render_now(self) -> None:
        stop = self._stop
        if stop is None:
            self.update("")
            return
        left = self._relock_left()
        if left is not None and left <= 0 and self._timer is not None:  # locked again: nothing moves now
            self._timer.stop()
            self._timer = None
            self.post_message(self.Relocked())
        now = self._monotonic()
        tick = int(now * 10)  # the spinner follows the clock (a fake clock gives a still frame)
        elapsed = now - self._since
        self.update(step_content(stop, elapsed=elapsed, relock_left=left, keys=self._keys, tick=tick))
