"""Delivery confirmations and what they mark: parcels delivered, stops completed.

Workers share the database, so nothing here is read-then-write on trust: a confirmation locks its
stop's row first (`lock_stop`), a parcel is marked only while it is still undelivered (the count
of rows marked says whether another confirmation got there first), and a delivery id is claimed by
its primary key (`add_delivery` says whether this call stored it).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from mock_building.service.storage.database import Executor

__all__ = [
    "DeliveryGrant",
    "DeliveryRow",
    "add_delivery",
    "complete_stop_if_done",
    "delivery",
    "lock_stop",
    "mark_delivered",
    "parcels_of",
    "quoted_grant",
    "stop_exists",
]


@dataclass(frozen=True)
class DeliveryRow:
    delivery_id: str
    driver_id: str
    route_id: str
    stop_id: str
    package_ids: tuple[str, ...]
    grant_id: str | None
    delivered_at: str
    recorded_at: str
    claimed_delivered_at: str | None


@dataclass(frozen=True)
class DeliveryGrant:
    """The grant a delivery quotes, as issued to that driver for that stop."""

    door_id: str
    route_id: str
    issued_at: str
    revoked_at: str | None


async def delivery(db: Executor, delivery_id: str) -> DeliveryRow | None:
    row = await db.fetch_one(
        "SELECT id, driver_id, route_id, stop_id, package_ids, grant_id, delivered_at, recorded_at,"
        " claimed_delivered_at FROM deliveries WHERE id = $1",
        delivery_id,
    )
    if row is None:
        return None
    return DeliveryRow(
        row[0], row[1], row[2], row[3], tuple(json.loads(row[4])), row[5], row[6], row[7], row[8]
    )


async def add_delivery(db: Executor, new: DeliveryRow) -> bool:
    """Store the delivery unless its id is taken (by a concurrent confirmation); True when stored."""
    added = await db.execute(
        "INSERT INTO deliveries (id, driver_id, route_id, stop_id, package_ids, grant_id, delivered_at,"
        " recorded_at, claimed_delivered_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        " ON CONFLICT (id) DO NOTHING",
        new.delivery_id,
        new.driver_id,
        new.route_id,
        new.stop_id,
        json.dumps(new.package_ids),
        new.grant_id,
        new.delivered_at,
        new.recorded_at,
        new.claimed_delivered_at,
    )
    return added > 0


async def quoted_grant(db: Executor, grant_id: str, driver_id: str, stop_id: str) -> DeliveryGrant | None:
    row = await db.fetch_one(
        "SELECT door_id, route_id, issued_at, revoked_at FROM grants WHERE id = $1 AND driver_id = $2"
        " AND stop_id = $3",
        grant_id,
        driver_id,
        stop_id,
    )
    return None if row is None else DeliveryGrant(row[0], row[1], row[2], row[3])


async def stop_exists(db: Executor, route_id: str, stop_id: str) -> bool:
    found = await db.fetch_value("SELECT 1 FROM stops WHERE route_id = $1 AND id = $2", route_id, stop_id)
    return found is not None


async def lock_stop(db: Executor, route_id: str, stop_id: str) -> str | None:
    """Lock the stop's row until the transaction ends; its building, or None when there is no such stop.

    Every confirmation for the stop takes this lock first, so its parcels' states and the stop's
    completion are decided by one confirmation at a time, whichever worker serves it.
    """
    building: str | None = await db.fetch_value(
        "UPDATE stops SET seq = seq WHERE route_id = $1 AND id = $2 RETURNING building_id", route_id, stop_id
    )
    return building


async def parcels_of(db: Executor, route_id: str, stop_id: str) -> dict[str, str | None]:
    """The stop's parcels, each with when it was delivered (None: not yet)."""
    rows = await db.fetch_all(
        "SELECT id, delivered_at FROM packages WHERE route_id = $1 AND stop_id = $2", route_id, stop_id
    )
    return {row[0]: row[1] for row in rows}


async def mark_delivered(db: Executor, route_id: str, package_ids: Sequence[str], at: str) -> int:
    """Mark the parcels delivered at `at`; how many were still undelivered (only those are marked)."""
    marked = 0
    for package_id in package_ids:
        marked += await db.execute(
            "UPDATE packages SET delivered_at = $1 WHERE route_id = $2 AND id = $3 AND delivered_at IS NULL",
            at,
            route_id,
            package_id,
        )
    return marked


async def complete_stop_if_done(db: Executor, route_id: str, stop_id: str, at: str) -> None:
    """Stamp the stop completed (once) when none of its parcels is left undelivered."""
    await db.execute(
        "UPDATE stops SET completed_at = COALESCE(completed_at, $3) WHERE route_id = $1 AND id = $2"
        " AND NOT EXISTS (SELECT 1 FROM packages p WHERE p.route_id = $1 AND p.stop_id = $2"
        " AND p.delivered_at IS NULL)",
        route_id,
        stop_id,
        at,
    )
