"""Rows the screens show, computed from the route model and the workflow state.

The only TUI module that reads the fields of `protocol.api.Route`, so a schema change stays here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from driver_app.core.state import RouteState, StopPhase

if TYPE_CHECKING:
    from protocol.api import DeliveryWindow, Stop

__all__ = [
    "DoorChoice",
    "PackageRow",
    "StopRow",
    "door_choices",
    "package_rows",
    "stop_row",
    "stop_rows",
    "window_text",
]

PHASE_LABELS: dict[StopPhase, str] = {
    StopPhase.IDLE: "to do",
    StopPhase.SCANNED: "scanned",
    StopPhase.FINDING_DOOR: "finding door",
    StopPhase.REQUESTING_GRANT: "requesting grant",
    StopPhase.CONNECTING: "connecting",
    StopPhase.VERIFYING: "verifying",
    StopPhase.UNLOCKED: "open",
    StopPhase.DELIVERED: "delivered",
}


@dataclass(frozen=True)
class StopRow:
    stop_id: str
    sequence: int
    address: str
    phase: StopPhase
    packages: int
    scanned: int
    current: bool
    window: str  # "08:00–18:00", in the times the service gave

    @property
    def status(self) -> str:
        return PHASE_LABELS[self.phase]

    @property
    def parcels(self) -> str:
        """ "1/3 ▣" scanned of all; a stop delivered before this session (nothing scanned here) shows "3 ▣"."""
        if self.phase is StopPhase.DELIVERED and self.scanned == 0:
            return f"{self.packages} ▣"
        return f"{self.scanned}/{self.packages} ▣"


@dataclass(frozen=True)
class PackageRow:
    package_id: str
    barcode: str
    unit: str | None
    scanned: bool


@dataclass(frozen=True)
class DoorChoice:
    door_id: str
    name: str
    rssi: int | None  # None: not heard in the last search


def _stops(state: RouteState) -> list[Stop]:
    return sorted(state.route.stops, key=lambda s: s.sequence) if state.route else []


def _stop(state: RouteState, stop_id: str) -> Stop | None:
    return next((s for s in _stops(state) if s.stop_id == stop_id), None)


def stop_rows(state: RouteState) -> list[StopRow]:
    """Every stop in delivery order."""
    return [row for s in _stops(state) if (row := stop_row(state, s.stop_id)) is not None]


def stop_row(state: RouteState, stop_id: str | None) -> StopRow | None:
    stop = _stop(state, stop_id) if stop_id else None
    if stop is None:
        return None
    progress = state.stops.get(stop.stop_id)
    return StopRow(
        stop_id=stop.stop_id,
        sequence=stop.sequence,
        address=stop.address,
        phase=progress.phase if progress else StopPhase.IDLE,
        packages=len(stop.packages),
        scanned=len(progress.scanned_package_ids) if progress else 0,
        current=stop.stop_id == state.current_stop_id,
        window=window_text(stop.window),
    )


def window_text(window: DeliveryWindow) -> str:
    """ "08:00–18:00"; a window of a whole day or more reads "all day", not "00:00–00:00"."""
    if window.end - window.start >= timedelta(days=1):
        return "all day"
    return f"{window.start:%H:%M}–{window.end:%H:%M}"


def package_rows(state: RouteState, stop_id: str) -> list[PackageRow]:
    stop = _stop(state, stop_id)
    progress = state.stops.get(stop_id)
    scanned = set(progress.scanned_package_ids) if progress else set()
    return [
        PackageRow(p.package_id, p.barcode, p.unit, p.package_id in scanned)
        for p in (stop.packages if stop else [])
    ]


def door_choices(state: RouteState, stop_id: str) -> list[DoorChoice]:
    """The stop's doors, strongest heard first, then the ones not heard, in the building's order."""
    stop = _stop(state, stop_id)
    progress = state.stops.get(stop_id)
    heard = {door.door_id: door.rssi for door in (progress.nearby if progress else ())}
    building = stop.building.doors if stop else ()
    doors = [DoorChoice(d.door_id, d.name, heard.get(d.door_id)) for d in building]
    return sorted(doors, key=lambda d: (d.rssi is None, -(d.rssi or 0)))
