"""Routes and where they lead: carriers, buildings, doors, and each driver's routes, stops, parcels.

Seeding is idempotent: rows that already exist are kept, and a route is added for each driver and
day that has none yet (a restarted service keeps its state; several workers may seed at once).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from mock_building.service.storage.database import Executor

__all__ = [
    "BuildingRow",
    "DoorRow",
    "PackageRow",
    "RouteSeed",
    "StopRow",
    "StopSeed",
    "add_building",
    "add_carrier",
    "add_door",
    "add_route",
    "buildings_on_route",
    "package_ids",
    "packages_on_route",
    "route_day",
    "stops_of",
]


@dataclass(frozen=True)
class StopSeed:
    stop_id: str
    building_id: str
    address: str
    window_start: str | None
    window_end: str | None
    packages: tuple[tuple[str, str, str | None], ...]
    """(package id, barcode, unit) in the scenario's order."""


@dataclass(frozen=True)
class RouteSeed:
    route_id: str
    driver_id: str
    day: date
    stops: tuple[StopSeed, ...]


@dataclass(frozen=True)
class DoorRow:
    door_id: str
    name: str


@dataclass(frozen=True)
class BuildingRow:
    building_id: str
    name: str
    doors: tuple[DoorRow, ...]


@dataclass(frozen=True)
class StopRow:
    stop_id: str
    seq: int
    building_id: str
    address: str
    window_start: str | None
    window_end: str | None
    completed: bool


@dataclass(frozen=True)
class PackageRow:
    package_id: str
    barcode: str
    unit: str | None


async def add_carrier(db: Executor, carrier_id: str, name: str, kid: str, public_key: bytes) -> None:
    await db.execute(
        "INSERT INTO carriers (id, name, kid, public_key) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        carrier_id,
        name,
        kid,
        public_key,
    )


async def add_building(
    db: Executor,
    building_id: str,
    name: str,
    address: str,
    manager_token_hash: bytes | None,
    accepted_carriers: Iterable[str],
) -> None:
    await db.execute(
        "INSERT INTO buildings (id, name, address, manager_token_hash) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT DO NOTHING",
        building_id,
        name,
        address,
        manager_token_hash,
    )
    await db.execute_many(
        "INSERT INTO building_carriers (building_id, carrier_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        [(building_id, carrier_id) for carrier_id in accepted_carriers],
    )


async def add_door(db: Executor, door_id: str, building_id: str, name: str, public_key: bytes) -> None:
    await db.execute(
        "INSERT INTO doors (id, building_id, name, public_key) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        door_id,
        building_id,
        name,
        public_key,
    )


async def add_route(db: Executor, route: RouteSeed) -> bool:
    """Add a route with its stops and parcels unless it exists; True when it was added."""
    added = await db.execute(
        "INSERT INTO routes (id, driver_id, day) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        route.route_id,
        route.driver_id,
        route.day.isoformat(),
    )
    if not added:
        return False
    await db.execute_many(
        "INSERT INTO stops (route_id, id, seq, building_id, address, window_start, window_end)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7)",
        [
            (route.route_id, s.stop_id, seq, s.building_id, s.address, s.window_start, s.window_end)
            for seq, s in enumerate(route.stops, start=1)
        ],
    )
    await db.execute_many(
        "INSERT INTO packages (route_id, id, stop_id, barcode, unit, seq) VALUES ($1, $2, $3, $4, $5, $6)",
        [
            (route.route_id, package_id, s.stop_id, barcode, unit, seq)
            for s in route.stops
            for seq, (package_id, barcode, unit) in enumerate(s.packages, start=1)
        ],
    )
    return True


async def route_day(db: Executor, route_id: str) -> date | None:
    day = await db.fetch_value("SELECT day FROM routes WHERE id = $1", route_id)
    return None if day is None else date.fromisoformat(day)


async def stops_of(db: Executor, route_id: str) -> list[StopRow]:
    rows = await db.fetch_all(
        "SELECT id, seq, building_id, address, window_start, window_end, completed_at FROM stops"
        " WHERE route_id = $1 ORDER BY seq",
        route_id,
    )
    return [StopRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6] is not None) for r in rows]


async def buildings_on_route(db: Executor, route_id: str) -> list[BuildingRow]:
    """The buildings the route's stops are at, each with its doors in id order."""
    rows = await db.fetch_all(
        "SELECT b.id, b.name, d.id, d.name FROM buildings b LEFT JOIN doors d ON d.building_id = b.id"
        " WHERE b.id IN (SELECT building_id FROM stops WHERE route_id = $1) ORDER BY b.id, d.id",
        route_id,
    )
    buildings: dict[str, tuple[str, list[DoorRow]]] = {}  # id: (name, doors)
    for r in rows:  # a building without doors is one row, its door NULL
        _, doors = buildings.setdefault(r[0], (r[1], []))
        if r[2] is not None:
            doors.append(DoorRow(r[2], r[3]))
    return [BuildingRow(b, name, tuple(doors)) for b, (name, doors) in buildings.items()]


async def packages_on_route(db: Executor, route_id: str) -> dict[str, list[PackageRow]]:
    """The route's parcels by stop, each stop's in the route's order."""
    rows = await db.fetch_all(
        "SELECT stop_id, id, barcode, unit FROM packages WHERE route_id = $1 ORDER BY seq, id", route_id
    )
    by_stop: dict[str, list[PackageRow]] = {}
    for r in rows:
        by_stop.setdefault(r[0], []).append(PackageRow(r[1], r[2], r[3]))
    return by_stop


async def package_ids(db: Executor, route_id: str) -> set[str]:
    rows = await db.fetch_all("SELECT id FROM packages WHERE route_id = $1", route_id)
    return {r[0] for r in rows}
