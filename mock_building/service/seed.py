"""Load a scenario into the service database.

Seeding is idempotent: rows that already exist are kept (a restarted service keeps its state and
hashes no password twice), and a route is added for each driver and day that has none yet.
"""

from __future__ import annotations

import hashlib
from datetime import date

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from mock_building.scenario.loader import Scenario
from mock_building.scenario.model import Route as ScenarioRoute
from mock_building.service.passwords import DEFAULT_COST, hash_password
from mock_building.service.storage import Database, Executor, accounts, routes

__all__ = ["route_id_for", "seed_database", "seed_routes", "token_hash"]


def token_hash(token: str) -> bytes:
    """Bearer tokens are stored hashed, so a leaked database does not leak live sessions."""
    return hashlib.sha256(token.encode()).digest()


def route_id_for(driver_id: str, day: date) -> str:
    return f"{driver_id}@{day.isoformat()}"


def _raw_public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


async def seed_database(
    database: Database, scenario: Scenario, today: date, *, password_cost: int = DEFAULT_COST
) -> None:
    async with database.transaction() as db:
        for carrier in scenario.carriers:
            await routes.add_carrier(
                db, carrier.id, carrier.name, carrier.kid, _raw_public(carrier.private_key)
            )
        for building in scenario.buildings:
            manager = token_hash(building.manager_token) if building.manager_token else None
            await routes.add_building(
                db, building.id, building.name, building.address, manager, building.accepted_carriers
            )
        for door in scenario.doors:
            await routes.add_door(db, door.id, door.building, door.name, _raw_public(door.private_key))
        known = await accounts.driver_ids(db)
        for driver in scenario.drivers:
            if driver.id not in known:  # hashing is slow: never for a driver already stored
                password_hash = hash_password(driver.password, cost=password_cost)
                await accounts.add_driver(db, driver.id, driver.name, driver.carrier, password_hash)
        await _add_routes(db, scenario, today)


async def seed_routes(database: Database, scenario: Scenario, today: date) -> int:
    """Add the scenario's routes for `today` that are missing (another day's are kept); how many were."""
    async with database.transaction() as db:
        return await _add_routes(db, scenario, today)


async def _add_routes(db: Executor, scenario: Scenario, today: date) -> int:
    added = 0
    for route in scenario.routes:
        day = route.date_for(today)
        added += await routes.add_route(
            db, _route_seed(route_id_for(route.driver, day), route.driver, day, route)
        )
    return added


def _route_seed(route_id: str, driver_id: str, day: date, route: ScenarioRoute) -> routes.RouteSeed:
    return routes.RouteSeed(
        route_id,
        driver_id,
        day,
        tuple(
            routes.StopSeed(
                stop.id,
                stop.building,
                stop.address,
                stop.window.start.isoformat("minutes") if stop.window.start else None,
                stop.window.end.isoformat("minutes") if stop.window.end else None,
                tuple((p.id, p.barcode, p.unit) for p in stop.packages),
            )
            for stop in route.stops
        ),
    )
