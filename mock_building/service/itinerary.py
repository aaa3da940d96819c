"""Today's route for a driver, as the protocol's `Route` model (stops, packages, doors, windows)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from mock_building.service.db import Store
from mock_building.service.gate import today_route_id
from mock_building.service.problems import ServiceProblem
from protocol.api import Building, DeliveryWindow, Door, Package, Route, Stop, StopStatus
from protocol.reasons import ReasonCode

__all__ = ["today_route"]


def _window(day: date, start: str | None, end: str | None, zone: ZoneInfo) -> DeliveryWindow:
    """Wall-clock window on the route's day; "always" is the whole local day."""
    if start is None or end is None:
        midnight = datetime.combine(day, time(0), zone)
        return DeliveryWindow(start=midnight, end=datetime.combine(day + timedelta(days=1), time(0), zone))
    return DeliveryWindow(
        start=datetime.combine(day, time.fromisoformat(start), zone),
        end=datetime.combine(day, time.fromisoformat(end), zone),
    )


def today_route(store: Store, driver_id: str, now: datetime, zone: ZoneInfo) -> Route:
    db = store.conn
    route_id = today_route_id(driver_id, now, zone)
    route = db.execute("SELECT day FROM routes WHERE id = ?", (route_id,)).fetchone()
    if route is None:
        raise ServiceProblem(ReasonCode.NOT_FOUND, "No route today", "you have no route assigned for today")
    day = date.fromisoformat(route["day"])
    buildings: dict[str, Building] = {}
    stops = []
    for stop in db.execute("SELECT * FROM stops WHERE route_id = ? ORDER BY seq", (route_id,)).fetchall():
        building_id = stop["building_id"]
        if building_id not in buildings:
            row = db.execute("SELECT name FROM buildings WHERE id = ?", (building_id,)).fetchone()
            doors = db.execute("SELECT id, name FROM doors WHERE building_id = ? ORDER BY id", (building_id,))
            buildings[building_id] = Building(
                building_id=building_id,
                name=row["name"],
                doors=tuple(Door(door_id=d["id"], name=d["name"]) for d in doors),
            )
        packages = db.execute(
            "SELECT id, barcode, unit FROM packages WHERE route_id = ? AND stop_id = ? ORDER BY rowid",
            (route_id, stop["id"]),
        )
        stops.append(
            Stop(
                stop_id=stop["id"],
                sequence=stop["seq"],
                address=stop["address"],
                building=buildings[building_id],
                window=_window(day, stop["window_start"], stop["window_end"], zone),
                packages=tuple(
                    Package(package_id=p["id"], barcode=p["barcode"], unit=p["unit"]) for p in packages
                ),
                status=StopStatus.DELIVERED if stop["completed_at"] else StopStatus.PENDING,
            )
        )
    return Route(route_id=route_id, date=day, stops=tuple(stops))
