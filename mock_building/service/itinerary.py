"""Today's route for a driver, as the protocol's `Route` model (stops, packages, doors, windows)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from mock_building.service.gate import today_route_id
from mock_building.service.problems import ServiceProblem
from mock_building.service.storage import Executor, routes
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


async def today_route(db: Executor, driver_id: str, now: datetime, zone: ZoneInfo) -> Route:
    """The route in four statements however long it is (its day, stops, buildings, parcels)."""
    route_id = today_route_id(driver_id, now, zone)
    day = await routes.route_day(db, route_id)
    if day is None:
        raise ServiceProblem(ReasonCode.NOT_FOUND, "No route today", "you have no route assigned for today")
    stops = await routes.stops_of(db, route_id)
    buildings = {
        row.building_id: Building(
            building_id=row.building_id,
            name=row.name,
            doors=tuple(Door(door_id=d.door_id, name=d.name) for d in row.doors),
        )
        for row in await routes.buildings_on_route(db, route_id)
    }
    packages = await routes.packages_on_route(db, route_id)
    return Route(
        route_id=route_id,
        date=day,
        stops=tuple(
            Stop(
                stop_id=stop.stop_id,
                sequence=stop.seq,
                address=stop.address,
                building=buildings[stop.building_id],
                window=_window(day, stop.window_start, stop.window_end, zone),
                packages=tuple(
                    Package(package_id=p.package_id, barcode=p.barcode, unit=p.unit)
                    for p in packages.get(stop.stop_id, ())
                ),
                status=StopStatus.DELIVERED if stop.completed else StopStatus.PENDING,
            )
            for stop in stops
        ),
    )
