"""Fault injection for one emulated door: the settings a scenario starts it with, toggled at run time.

`DoorFaultSettings` is the one definition of the fault fields and their bounds; the scenario's
`[doors.faults]` table is read into it, and `DoorFaults` holds the current settings. Listeners hear
every change, which is how the peripheral applies radio-level faults (power, range) the moment they
are toggled.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from mock_building.door.errors import DoorError, DoorErrorReason

__all__ = ["DoorFaultSettings", "DoorFaults", "FaultListener", "fault_value_problem"]

FaultListener = Callable[["DoorFaults"], None]

RSSI_RANGE_DBM = (-127, 20)


@dataclasses.dataclass(frozen=True)
class DoorFaultSettings:
    """One snapshot of a door's fault switches; the defaults are a healthy door."""

    jammed: bool = False
    """Accepts valid requests but the bolt does not move; the receipt says door_jammed."""
    slow_ms: int = 0
    """Delay before a request is decided and the result is sent."""
    drop_mid_write: bool = False
    """Cut the link when an unlock request arrives; nothing is decided, no grant consumed."""
    rssi_dbm: int = -55
    """How loud the door is heard (needs a radio that can emulate it)."""
    out_of_range: bool = False
    """Not heard at all: not found by scans, not connectable."""
    clock_skew_s: int = 0
    """The door's clock runs this many seconds ahead (negative: behind)."""
    wrong_issuer_key: bool = False
    """The door was provisioned with wrong public keys under the right key ids."""
    powered_off: bool = False
    """Stops advertising and refuses connections."""
    forced: bool = False
    """The door is forced open while bolted (door-position sensor: a `door_forced` alert)."""
    held_open: bool = False
    """The door is propped open: still open when the bolt throws again (`door_held_open`)."""
    nobody_enters: bool = False
    """The bolt opens but nobody pushes the door (`unlocked_not_opened` at the relock)."""

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            problem = fault_value_problem(field.name, getattr(self, field.name))
            if problem is not None:
                raise DoorError(DoorErrorReason.BAD_FAULT_VALUE, f"door fault {field.name}: {problem}")


_FIELD_TYPES = {field.name: field.type for field in dataclasses.fields(DoorFaultSettings)}


def fault_value_problem(name: str, value: Any) -> str | None:
    """Why `value` cannot be the fault `name` (None if it can); the scenario loader shares the bounds."""
    if _FIELD_TYPES[name] == "bool":
        return None if isinstance(value, bool) else "must be true or false"
    if not isinstance(value, int) or isinstance(value, bool):
        return "must be an integer"
    if name == "slow_ms" and value < 0:
        return "must not be negative"
    low, high = RSSI_RANGE_DBM
    if name == "rssi_dbm" and not low <= value <= high:
        return f"must be within {low}..{high} dBm"
    return None


class DoorFaults:
    """The door's live fault switches; change them with `set(...)` so listeners are told.

    Reading a fault (`faults.jammed`) reads the current `settings`.
    """

    def __init__(self, settings: DoorFaultSettings | None = None, **changes: Any) -> None:
        self._listeners: list[FaultListener] = []
        self.settings = _replaced(settings or DoorFaultSettings(), changes)

    def __getattr__(self, name: str) -> Any:
        if name in _FIELD_TYPES:
            return getattr(self.settings, name)
        raise AttributeError(name)

    def set(self, **changes: Any) -> None:
        """Change some faults at once (validated first, then applied, then announced)."""
        self.settings = _replaced(self.settings, changes)
        for listener in list(self._listeners):
            listener(self)

    def subscribe(self, listener: FaultListener) -> Callable[[], None]:
        """Call `listener` after every `set`; returns the function that unsubscribes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def active(self) -> dict[str, Any]:
        """The faults that differ from a healthy door (for the live view)."""
        healthy = DoorFaultSettings()
        return {
            name: getattr(self.settings, name)
            for name in _FIELD_TYPES
            if getattr(self.settings, name) != getattr(healthy, name)
        }


def _replaced(settings: DoorFaultSettings, changes: dict[str, Any]) -> DoorFaultSettings:
    for name in changes:
        if name not in _FIELD_TYPES:
            raise DoorError(DoorErrorReason.UNKNOWN_FAULT, f"no door fault named {name!r}")
    return dataclasses.replace(settings, **changes)
