"""Grants: the ones issued, the requests they answered (idempotency keys), and the grant rate limit.

The rate limit is kept in the database, so it holds across every worker process.
"""

from __future__ import annotations

from dataclasses import dataclass

from mock_building.service.storage.database import Executor

__all__ = ["GrantFacts", "GrantRecord", "GrantTarget", "RememberedGrant", "grant_facts", "record_grant",
           "remember_request", "replay", "take_rate_slot"]  # fmt: skip


@dataclass(frozen=True)
class GrantRecord:
    grant_id: str
    driver_id: str
    carrier_id: str
    handheld_key_id: str
    route_id: str
    stop_id: str
    door_id: str
    package_id: str
    issued_at: str
    expires_at: str


@dataclass(frozen=True)
class GrantTarget:
    """What the grant gate needs to know of one stop, door and scanned barcode."""

    building_id: str
    completed: bool
    window_start: str | None
    window_end: str | None
    package_id: str | None
    door_in_building: bool
    carrier_accepted: bool
    carrier_kid: str | None
    """The carrier's current grant-key id (another worker may have rotated it)."""


@dataclass(frozen=True)
class GrantFacts:
    """The driver's handheld key, and the stop it asks at (None: not on the driver's route)."""

    handheld_public_key: bytes
    handheld_revoked: bool
    target: GrantTarget | None


@dataclass(frozen=True)
class RememberedGrant:
    """The grant issued earlier under one driver's idempotency key, and the request it answered."""

    body_hash: bytes
    token: bytes
    grant_id: str
    door_id: str
    expires_at: str


async def take_rate_slot(db: Executor, key: str, now_epoch: float, *, limit: int, window_s: float) -> float:
    """Take one of `limit` slots per `window_s` for `key` (GCRA: a burst of `limit`, then one slot
    every `window_s / limit`); 0.0 when taken, else the seconds until one frees (nothing taken).

    One conditional upsert, atomic on both backends (PostgreSQL locks the key's row and judges the
    condition on it as another worker left it), so concurrent requests never share the last slot.
    """
    interval = window_s / limit
    # A new key takes its first slot as it is inserted; a known one only if its condition holds.
    taken = await db.fetch_one(
        "INSERT INTO grant_rate (key, tat_epoch)"
        " VALUES ($1, CAST($2 AS DOUBLE PRECISION) + CAST($3 AS DOUBLE PRECISION)) ON CONFLICT (key) DO UPDATE"
        " SET tat_epoch = (CASE WHEN grant_rate.tat_epoch > $2 THEN grant_rate.tat_epoch ELSE $2 END) + $3"
        " WHERE (CASE WHEN grant_rate.tat_epoch > $2 THEN grant_rate.tat_epoch ELSE $2 END) + $3 - $2 <= $4"
        " RETURNING tat_epoch",
        key,
        now_epoch,
        interval,
        window_s,
    )
    if taken is not None:
        return 0.0
    tat = await db.fetch_value("SELECT tat_epoch FROM grant_rate WHERE key = $1", key)
    return max(float(tat) + interval - window_s - now_epoch, 0.001)


async def grant_facts(
    db: Executor,
    handheld_key_id: str,
    driver_id: str,
    route_id: str,
    stop_id: str,
    door_id: str,
    barcode: str,
    carrier_id: str,
) -> GrantFacts | None:
    """Everything the gate checks after the rate limit, in one statement (one round trip per grant
    less than asking for the handheld and the stop apart); None when the handheld key is not this
    driver's or unknown."""
    row = await db.fetch_one(
        "SELECT h.public_key, h.revoked_at, s.building_id, s.completed_at, s.window_start, s.window_end,"
        " (SELECT p.id FROM packages p WHERE p.route_id = s.route_id AND p.stop_id = s.id"
        "  AND p.barcode = $4),"
        " EXISTS (SELECT 1 FROM doors d WHERE d.id = $3 AND d.building_id = s.building_id),"
        " EXISTS (SELECT 1 FROM building_carriers c WHERE c.building_id = s.building_id"
        "  AND c.carrier_id = $5),"
        " (SELECT kid FROM carriers WHERE id = $5)"
        " FROM handhelds h LEFT JOIN stops s ON s.route_id = $1 AND s.id = $2"
        " WHERE h.key_id = $6 AND h.driver_id = $7",
        route_id,
        stop_id,
        door_id,
        barcode,
        carrier_id,
        handheld_key_id,
        driver_id,
    )
    if row is None:
        return None
    target = None
    if row[2] is not None:  # a stop's building is never NULL: the stop is on the route
        target = GrantTarget(
            row[2], row[3] is not None, row[4], row[5], row[6], bool(row[7]), bool(row[8]), row[9]
        )
    return GrantFacts(bytes(row[0]), row[1] is not None, target)


async def record_grant(db: Executor, grant: GrantRecord) -> None:
    await db.execute(
        "INSERT INTO grants (id, driver_id, carrier_id, handheld_key_id, route_id, stop_id, door_id, package_id,"
        " issued_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        grant.grant_id,
        grant.driver_id,
        grant.carrier_id,
        grant.handheld_key_id,
        grant.route_id,
        grant.stop_id,
        grant.door_id,
        grant.package_id,
        grant.issued_at,
        grant.expires_at,
    )


async def remember_request(
    db: Executor, driver_id: str, idempotency_key: str, body_hash: bytes, grant_id: str, token: bytes, at: str
) -> bool:
    """Keep the grant answering this idempotency key; False when another request already took the key."""
    added = await db.execute(
        "INSERT INTO grant_requests (driver_id, idempotency_key, body_hash, grant_id, token, created_at)"
        " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        driver_id,
        idempotency_key,
        body_hash,
        grant_id,
        token,
        at,
    )
    return added == 1


async def replay(db: Executor, driver_id: str, idempotency_key: str) -> RememberedGrant | None:
    row = await db.fetch_one(
        "SELECT r.body_hash, r.token, g.id, g.door_id, g.expires_at FROM grant_requests r"
        " JOIN grants g ON g.id = r.grant_id WHERE r.driver_id = $1 AND r.idempotency_key = $2",
        driver_id,
        idempotency_key,
    )
    if row is None:
        return None
    return RememberedGrant(bytes(row[0]), bytes(row[1]), row[2], row[3], row[4])
