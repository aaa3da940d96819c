"""What the live view shows of a door, pushed to listeners on every change."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from protocol.reasons import Outcome, ReasonCode

__all__ = ["DoorState", "StateListener"]


@dataclass(frozen=True)
class DoorState:
    """A snapshot: bolt position, when it relocks, and how the last attempt ended."""

    door_id: str
    locked: bool
    relock_at: float | None
    """Door-clock time (Unix seconds) the bolt throws again; None while locked."""
    last_outcome: Outcome | None
    last_reason: ReasonCode | None
    last_seq: int | None
    """Sequence number of the newest receipt."""
    connected: int
    """Connections open right now (BLE sessions)."""
    faults: tuple[tuple[str, object], ...] = ()
    """Active faults as (name, value), in declaration order; empty for a healthy door."""
    links_dropped: int = 0
    """Links the door cut since it started: silent, too long, or evicted when full."""
    door_open: bool = False
    """What the door-position sensor reads (the leaf, not the bolt)."""
    rate_limited: int = 0
    """Unlock attempts answered `rate_limited` (ATT 0x81) since it started."""


StateListener = Callable[[DoorState], None]
