"""Immutable snapshots of the route and its stops: what the UI renders, nothing more."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING

from driver_app.core.ports import NearbyDoor

if TYPE_CHECKING:
    from protocol.api import Route


class StopPhase(StrEnum):
    """Where one stop stands; the order is the order a delivery walks through."""

    IDLE = "idle"
    SCANNED = "scanned"
    FINDING_DOOR = "finding_door"
    REQUESTING_GRANT = "requesting_grant"
    CONNECTING = "connecting"
    VERIFYING = "verifying"
    UNLOCKED = "unlocked"
    DELIVERED = "delivered"


#: Phases between the first scan and the open door: their sum is the stop time the runner reports.
SCAN_TO_OPEN = (
    StopPhase.SCANNED,
    StopPhase.FINDING_DOOR,
    StopPhase.REQUESTING_GRANT,
    StopPhase.CONNECTING,
    StopPhase.VERIFYING,
)


@dataclass(frozen=True)
class Notice:
    """What the driver reads when something went wrong, and what to do about it."""

    reason: str
    message: str
    next_action: str
    retrying: bool = False
    retry_at: float | None = None  # when retrying: the next attempt, on the core clock's monotonic scale


@dataclass(frozen=True)
class RetryCountdown:
    """A retry being waited for, as the UI shows it: "Retrying (attempt 3 of 6) in 4 s"."""

    reason: str
    attempt: int
    """The attempt that runs when the wait ends (2 … attempts)."""
    attempts: int
    seconds_left: float
    service_asked: bool = False
    """The wait is the service's `Retry-After`, not the client's own backoff."""

    @property
    def whole_seconds_left(self) -> int:
        return math.ceil(self.seconds_left)


@dataclass(frozen=True)
class PhaseTiming:
    """Total seconds spent in one phase (summed over retries when it was entered more than once)."""

    phase: StopPhase
    seconds: float


class ScanVerdictKind(StrEnum):
    MATCHED = "matched"
    ALREADY_SCANNED = "already_scanned"
    OTHER_STOP = "other_stop"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class ScanVerdict:
    kind: ScanVerdictKind
    package_id: str | None
    stop_id: str | None
    message: str


@dataclass(frozen=True)
class StopState:
    stop_id: str
    phase: StopPhase = StopPhase.IDLE
    scanned_package_ids: tuple[str, ...] = ()
    door_id: str | None = None
    nearby: tuple[NearbyDoor, ...] = ()
    timings: tuple[PhaseTiming, ...] = ()
    notice: Notice | None = None
    relock_at: float | None = None  # on the core clock's monotonic scale
    grant_id: bytes | None = None  # of the grant that opened (or last tried) the door
    failed_phase: StopPhase | None = None  # the step the last unlock attempt failed in, if it failed

    @property
    def seconds_to_open(self) -> float | None:
        """Package scanned → door open, once the door has opened."""
        if self.phase not in (StopPhase.UNLOCKED, StopPhase.DELIVERED):
            return None
        spent = [t.seconds for t in self.timings if t.phase in SCAN_TO_OPEN]
        return sum(spent) if spent else None


@dataclass(frozen=True)
class HeldItem:
    """An outbox item the service refused, as diagnostics lists it (`driver-app outbox` has the rest)."""

    item_id: int
    kind: str  # an OutboxKind value
    key: str  # receipt hash or delivery id
    reason: str  # the service's reason code


def _frozen_stops() -> Mapping[str, StopState]:
    return MappingProxyType({})


@dataclass(frozen=True)
class RouteState:
    route: Route | None = None
    current_stop_id: str | None = None
    stops: Mapping[str, StopState] = field(default_factory=_frozen_stops)
    outbox_size: int = 0  # everything not yet accepted by the service, held items included
    held: tuple[HeldItem, ...] = ()  # refused by the service: kept until retried or exported
    outbox_waiting: int = 0  # queued by another driver on this handheld: sent when they sign in
    online: bool = False
    radio_available: bool | None = None  # the door radio answered last time (None: not used yet)
    driver_name: str | None = None
    notice: Notice | None = None  # route-level trouble (sign-in, route loading, sync)
    retry: RetryCountdown | None = None  # a call to the service waiting to be retried, ticking down

    @property
    def outbox_held(self) -> int:
        return len(self.held)

    @property
    def current_stop(self) -> StopState | None:
        return self.stops.get(self.current_stop_id) if self.current_stop_id else None
