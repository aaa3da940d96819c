"""The emulated door-position sensor: is the door leaf open, and did a grant cause it?

A real door has a reed switch next to the bolt. Together they tell the building what no grant
explains: the door opened while bolted (`door_forced`), it was still open when the bolt threw
again (`door_held_open`), or the bolt opened for a grant and the door never moved
(`unlocked_not_opened`). Each is one ALERT receipt, raised on the change that caused it.

The emulated person at the door pushes it open as soon as the bolt opens and the closer
shuts it when the bolt throws, unless a fault says otherwise: `forced` (forced open now,
while bolted), `held_open` (propped open: it does not close at the relock) and
`nobody_enters` (the bolt opens but nobody pushes the door).
"""

from __future__ import annotations

from collections.abc import Callable

from mock_building.door.faults import DoorFaults
from protocol.reasons import ReasonCode

__all__ = ["DoorSensor"]


class DoorSensor:
    """Follows the bolt and the faults; `alert(reason)` is called for each unexplained event."""

    def __init__(self, faults: DoorFaults, alert: Callable[[ReasonCode], None]) -> None:
        self._faults = faults
        self._alert = alert
        self.open = False
        self._bolt_open = False
        self._moved_since_unlock = False
        self._forced = faults.forced
        if faults.forced:
            self._force()

    def bolt_changed(self, bolt_open: bool) -> None:
        """The bolt moved (the lock's change callback)."""
        if bolt_open == self._bolt_open:
            return
        self._bolt_open = bolt_open
        if bolt_open:
            self._moved_since_unlock = False
            if not self._faults.nobody_enters:
                self._move(True)
            return
        if not self._moved_since_unlock:
            self._alert(ReasonCode.UNLOCKED_NOT_OPENED)
        elif self.open and self._faults.held_open:
            self._alert(ReasonCode.DOOR_HELD_OPEN)
        elif self.open and not self._faults.forced:
            self._move(False)

    def faults_changed(self) -> None:
        """A fault was toggled: `forced` acts now, the others at the next bolt movement."""
        forced = self._faults.forced
        if forced and not self._forced:
            self._force()
        elif not forced and self._forced and not self._bolt_open:
            self._move(False)
        self._forced = forced
        if not self._faults.held_open and self.open and not self._bolt_open and not forced:
            self._move(False)

    def _force(self) -> None:
        if not self._bolt_open and not self.open:
            self._move(True)
            self._alert(ReasonCode.DOOR_FORCED)

    def _move(self, open_: bool) -> None:
        self.open = open_
        if open_:
            self._moved_since_unlock = True
