"""The per-stop state store: each stop's current `StopState`, its phase timings, and typed updates.

Every change goes through `enter` (a new phase, timed) or `update` (same phase); both take only the
`StopState` fields a change may touch, so a misspelt or mistyped change is a type error, not a
runtime surprise. The store tells its owner after each change so one snapshot reaches the UI.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from types import MappingProxyType
from typing import TypedDict, Unpack

from driver_app.core.ports import Clock, NearbyDoor
from driver_app.core.state import Notice, PhaseTiming, StopPhase, StopState

__all__ = ["StopChanges", "StopStore"]

_STEPS = frozenset(
    {StopPhase.FINDING_DOOR, StopPhase.REQUESTING_GRANT, StopPhase.CONNECTING, StopPhase.VERIFYING}
)


class StopChanges(TypedDict, total=False):
    """The fields of a `StopState` that a change may set (phase and timings belong to `enter`)."""

    scanned_package_ids: tuple[str, ...]
    door_id: str | None
    nearby: tuple[NearbyDoor, ...]
    notice: Notice | None
    relock_at: float | None
    grant_id: bytes | None
    failed_phase: StopPhase | None


class StopStore:
    def __init__(self, clock: Clock, on_change: Callable[[], None]) -> None:
        self._clock = clock
        self._on_change = on_change
        self._stops: dict[str, StopState] = {}
        self._entered: dict[str, float] = {}  # stop id → monotonic time its current phase began
        self.snapshot: Mapping[str, StopState] = MappingProxyType({})
        """A read-only copy of every stop, rebuilt once per change."""

    def reset(self, stops: Iterable[StopState]) -> None:
        """A new route: these stops, no timings running. Does not notify (the caller publishes)."""
        self._stops = {stop.stop_id: stop for stop in stops}
        self._entered = {}
        self.snapshot = MappingProxyType(dict(self._stops))

    def __getitem__(self, stop_id: str) -> StopState:
        return self._stops[stop_id]

    def enter(self, stop_id: str, phase: StopPhase, **changes: Unpack[StopChanges]) -> None:
        """Move a stop to `phase`, adding the time spent in the phase it leaves to its timings."""
        stop = self._stops[stop_id]
        now = self._clock.monotonic()
        began = self._entered.get(stop_id)
        timings = stop.timings
        if began is not None and stop.phase is not phase:
            timings = _add_timing(timings, stop.phase, now - began)
        if stop.phase is not phase or began is None:
            self._entered[stop_id] = now
        self._store(replace(stop, phase=phase, timings=timings, **changes))

    def new_attempt(self, stop_id: str) -> None:
        """An unlock attempt starts: its steps are timed from zero, so each shows its own duration.

        Steps of earlier attempts count as time spent scanned-but-not-open, which keeps the stop's
        scan→open total (the sum of `SCAN_TO_OPEN`) the whole time since the first scan.
        """
        stop = self._stops[stop_id]
        earlier = sum(t.seconds for t in stop.timings if t.phase in _STEPS)
        kept = tuple(t for t in stop.timings if t.phase not in _STEPS)
        if earlier:
            kept = _add_timing(kept, StopPhase.SCANNED, earlier)
        self._store(replace(stop, timings=kept, failed_phase=None))

    def update(self, stop_id: str, **changes: Unpack[StopChanges]) -> None:
        self._store(replace(self._stops[stop_id], **changes))

    def _store(self, stop: StopState) -> None:
        self._stops[stop.stop_id] = stop
        self.snapshot = MappingProxyType(dict(self._stops))
        self._on_change()


def _add_timing(
    timings: tuple[PhaseTiming, ...], phase: StopPhase, seconds: float
) -> tuple[PhaseTiming, ...]:
    """Accumulate: a phase entered twice (a retry) reports its total time."""
    spent = {t.phase: t.seconds for t in timings}
    spent[phase] = spent.get(phase, 0.0) + seconds
    return tuple(PhaseTiming(p, s) for p, s in spent.items())
