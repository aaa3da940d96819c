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
from mock_building.service.db import Store
from mock_building.service.passwords import DEFAULT_COST, hash_password

__all__ = ["route_id_for", "seed_database", "token_hash"]


def token_hash(token: str) -> bytes:
    """Bearer tokens are stored hashed, so a leaked database does not leak live sessions."""
    return hashlib.sha256(token.encode()).digest()


def route_id_for(driver_id: str, day: date) -> str:
    return f"{driver_id}@{day.isoformat()}"


def _raw_public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def seed_database(
    store: Store, scenario: Scenario, today: date, *, password_cost: int = DEFAULT_COST
) -> None:
    with store.transaction() as db:
        for carrier in scenario.carriers:
            db.execute(
                "INSERT OR IGNORE INTO carriers (id, name, kid, public_key) VALUES (?, ?, ?, ?)",
                (carrier.id, carrier.name, carrier.kid, _raw_public(carrier.private_key)),
            )
        for building in scenario.buildings:
            manager = token_hash(building.manager_token) if building.manager_token else None
            db.execute(
                "INSERT OR IGNORE INTO buildings (id, name, address, manager_token_hash) VALUES (?, ?, ?, ?)",
                (building.id, building.name, building.address, manager),
            )
            db.executemany(
                "INSERT OR IGNORE INTO building_carriers (building_id, carrier_id) VALUES (?, ?)",
                [(building.id, carrier_id) for carrier_id in building.accepted_carriers],
            )
        for door in scenario.doors:
            db.execute(
                "INSERT OR IGNORE INTO doors (id, building_id, name, public_key) VALUES (?, ?, ?, ?)",
                (door.id, door.building, door.name, _raw_public(door.private_key)),
            )
        known = {row[0] for row in db.execute("SELECT id FROM drivers")}
        for driver in scenario.drivers:
            if driver.id not in known:
                db.execute(
                    "INSERT INTO drivers (id, name, carrier_id, password_hash) VALUES (?, ?, ?, ?)",
                    (
                        driver.id,
                        driver.name,
                        driver.carrier,
                        hash_password(driver.password, cost=password_cost),
                    ),
                )
        for route in scenario.routes:
            day = route.date_for(today)
            route_id = route_id_for(route.driver, day)
            if db.execute("SELECT 1 FROM routes WHERE id = ?", (route_id,)).fetchone():
                continue
            db.execute(
                "INSERT INTO routes (id, driver_id, day) VALUES (?, ?, ?)",
                (route_id, route.driver, day.isoformat()),
            )
            for seq, stop in enumerate(route.stops, start=1):
                window = stop.window
                db.execute(
                    "INSERT INTO stops (route_id, id, seq, building_id, address, window_start, window_end)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        route_id,
                        stop.id,
                        seq,
                        stop.building,
                        stop.address,
                        window.start.isoformat("minutes") if window.start else None,
                        window.end.isoformat("minutes") if window.end else None,
                    ),
                )
                db.executemany(
                    "INSERT INTO packages (route_id, id, stop_id, barcode, unit) VALUES (?, ?, ?, ?, ?)",
                    [(route_id, p.id, stop.id, p.barcode, p.unit) for p in stop.packages],
                )
