"""Lookups over today's route: which stop a barcode belongs to, which doors a stop has.

The only module of the core that reads the fields of `protocol.api.Route`, so a schema change stays here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from protocol.api import Route, Stop


@dataclass(frozen=True)
class PackageRef:
    package_id: str
    stop_id: str


class RouteIndex:
    """Read-only views of one `Route`, built once when the route is loaded."""

    def __init__(self, route: Route) -> None:
        self.route = route
        self._stops: dict[str, Stop] = {stop.stop_id: stop for stop in route.stops}
        self._by_barcode: dict[str, PackageRef] = {
            package.barcode: PackageRef(package.package_id, stop.stop_id)
            for stop in route.stops
            for package in stop.packages
        }

    @property
    def stop_ids(self) -> list[str]:
        """In delivery order."""
        return [stop.stop_id for stop in sorted(self.route.stops, key=lambda s: s.sequence)]

    def has_stop(self, stop_id: str) -> bool:
        return stop_id in self._stops

    def package_for(self, barcode: str) -> PackageRef | None:
        return self._by_barcode.get(barcode.strip())

    def barcode_of(self, package_id: str) -> str:
        return next(
            package.barcode
            for stop in self.route.stops
            for package in stop.packages
            if package.package_id == package_id
        )

    def is_completed(self, stop_id: str) -> bool:
        return self._stops[stop_id].status.value == "delivered"

    def label(self, stop_id: str) -> str:
        """How a driver names a stop: "stop 5 (12 Elm St)"."""
        stop = self._stops[stop_id]
        return f"stop {stop.sequence} ({stop.address})"

    def door_ids(self, stop_id: str) -> list[str]:
        return [door.door_id for door in self._stops[stop_id].building.doors]

    def door_name(self, door_id: str) -> str:
        for stop in self.route.stops:
            for door in stop.building.doors:
                if door.door_id == door_id:
                    return door.name
        return door_id

    def other_door_names(self, stop_id: str, door_id: str | None) -> tuple[str, ...]:
        return tuple(door.name for door in self._stops[stop_id].building.doors if door.door_id != door_id)
