"""Fault injection for one emulated door, set at construction and toggled at run time.

The field names match the scenario's `[doors.faults]` table, so a scenario's settings become
`DoorFaults(**dataclasses.asdict(settings))`. Listeners hear every change, which is how the
peripheral applies radio-level faults (power, range) the moment they are toggled.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from mock_building.door.errors import DoorError, DoorErrorReason

__all__ = ["DoorFaults", "FaultListener"]

FaultListener = Callable[["DoorFaults"], None]

_RSSI_RANGE = range(-127, 21)


@dataclasses.dataclass
class DoorFaults:
    """Mutable fault switches; change them with `set(...)` so listeners are told."""

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

    def __post_init__(self) -> None:
        self._listeners: list[FaultListener] = []
        for field in dataclasses.fields(self):
            _check(field.name, getattr(self, field.name))

    def set(self, **changes: Any) -> None:
        """Change some faults at once (validated first, then applied, then announced)."""
        names = {field.name for field in dataclasses.fields(self)}
        for name, value in changes.items():
            if name not in names:
                raise DoorError(DoorErrorReason.UNKNOWN_FAULT, f"no door fault named {name!r}")
            _check(name, value)
        for name, value in changes.items():
            object.__setattr__(self, name, value)
        for listener in list(self._listeners):
            listener(self)

    def subscribe(self, listener: FaultListener) -> Callable[[], None]:
        """Call `listener` after every `set`; returns the function that unsubscribes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def active(self) -> dict[str, Any]:
        """The faults that differ from a healthy door (for the live view)."""
        healthy = DoorFaults()
        return {
            field.name: getattr(self, field.name)
            for field in dataclasses.fields(self)
            if getattr(self, field.name) != getattr(healthy, field.name)
        }


def _check(name: str, value: Any) -> None:
    expected = {f.name: f.type for f in dataclasses.fields(DoorFaults)}[name]
    if expected == "bool":
        ok = isinstance(value, bool)
    else:
        ok = isinstance(value, int) and not isinstance(value, bool)
        if ok and name == "slow_ms":
            ok = value >= 0
        if ok and name == "rssi_dbm":
            ok = value in _RSSI_RANGE
    if not ok:
        raise DoorError(DoorErrorReason.BAD_FAULT_VALUE, f"bad value {value!r} for door fault {name}")
