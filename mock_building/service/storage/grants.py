"""Grants: the ones issued, the requests they answered (idempotency keys), and the grant rate limit.

The rate limit is kept in the database, so it holds across every worker process.
"""

from __future__ import annotations

from dataclasses import dataclass

from mock_building.service.storage.database import Executor

__all__ = ["GrantAsk", "GrantFacts", "GrantRecord", "GrantTarget", "RememberedGrant", "forget_spent_requests",
           "record_grant", "remember_request", "replay", "take_grant_slot"]  # fmt: skip


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


@dataclass(frozen=True)
class GrantAsk:
    """What one grant request names: the handheld, the stop on the driver's route, the door, the parcel."""

    handheld_key_id: str
    driver_id: str
    route_id: str
    stop_id: str
    door_id: str
    barcode: str
    carrier_id: str


# A new key takes its first slot as it is inserted; a known one only if its condition holds.
_TAKE_SLOT = (
    "INSERT INTO grant_rate (key, tat_epoch)"
    " VALUES ($1, CAST($2 AS DOUBLE PRECISION) + CAST($3 AS DOUBLE PRECISION)) ON CONFLICT (key) DO UPDATE"
    " SET tat_epoch = (CASE WHEN grant_rate.tat_epoch > $2 THEN grant_rate.tat_epoch ELSE $2 END) + $3"
    " WHERE (CASE WHEN grant_rate.tat_epoch > $2 THEN grant_rate.tat_epoch ELSE $2 END) + $3 - $2 <= $4"
    " RETURNING tat_epoch"
)
# What the gate checks once the slot is taken, as scalar subqueries of the RETURNING list (a RETURNING
# list may hold subqueries on both backends, not a join): $5 route, $6 stop, $7 door, $8 barcode,
# $9 carrier, $10 handheld key, $11 driver. Each is a primary-key lookup.
_HANDHELD = "(SELECT {} FROM handhelds h WHERE h.key_id = $10 AND h.driver_id = $11)"
_STOP = "(SELECT {} FROM stops s WHERE s.route_id = $5 AND s.id = $6)"
_FACTS = (
    _HANDHELD.format("h.public_key"),
    _HANDHELD.format("h.revoked_at"),
    _STOP.format("s.building_id"),
    _STOP.format("s.completed_at"),
    _STOP.format("s.window_start"),
    _STOP.format("s.window_end"),
    _STOP.format(
        "(SELECT p.id FROM packages p WHERE p.route_id = s.route_id AND p.stop_id = s.id AND p.barcode = $8)"
    ),
    _STOP.format("EXISTS (SELECT 1 FROM doors d WHERE d.id = $7 AND d.building_id = s.building_id)"),
    _STOP.format(
        "EXISTS (SELECT 1 FROM building_carriers c WHERE c.building_id = s.building_id AND c.carrier_id = $9)"
    ),
    "(SELECT kid FROM carriers WHERE id = $9)",
)
_TAKE_SLOT_WITH_FACTS = f"{_TAKE_SLOT}, {', '.join(_FACTS)}"


async def take_grant_slot(
    db: Executor, key: str, now_epoch: float, ask: GrantAsk, *, limit: int, window_s: float
) -> tuple[float, GrantFacts | None]:
    """Take one of `limit` slots per `window_s` for `key` (GCRA: a burst of `limit`, then one slot
    every `window_s / limit`), and learn what the gate checks after it, in one statement.

    (0.0, facts) when the slot is taken, facts None when the handheld key is unknown or not this
    driver's; else (the seconds until a slot frees, None), nothing taken. One conditional upsert,
    atomic on both backends (PostgreSQL locks the key's row and judges the condition on it as another
    worker left it), so concurrent requests never share the last slot; the facts come with it, one
    round trip per grant less than asking apart.
    """
    interval = window_s / limit
    row = await db.fetch_one(
        _TAKE_SLOT_WITH_FACTS,
        key,
        now_epoch,
        interval,
        window_s,
        ask.route_id,
        ask.stop_id,
        ask.door_id,
        ask.barcode,
        ask.carrier_id,
        ask.handheld_key_id,
        ask.driver_id,
    )
    if row is None:
        tat = await db.fetch_value("SELECT tat_epoch FROM grant_rate WHERE key = $1", key)
        return max(float(tat) + interval - window_s - now_epoch, 0.001), None
    if row[1] is None:  # a handheld's public key is never NULL: no such key of this driver
        return 0.0, None
    target = None
    if row[3] is not None:  # a stop's building is never NULL: the stop is on the route
        target = GrantTarget(
            row[3], row[4] is not None, row[5], row[6], row[7], bool(row[8]), bool(row[9]), row[10]
        )
    return 0.0, GrantFacts(bytes(row[1]), row[2] is not None, target)


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
    """Keep the grant answering this idempotency key, issued `at`; False when the key answers with
    another grant still live at `at` (a key whose grant has expired is taken over)."""
    added = await db.execute(
        "INSERT INTO grant_requests (driver_id, idempotency_key, body_hash, grant_id, token, created_at)"
        " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (driver_id, idempotency_key) DO UPDATE SET"
        " body_hash = excluded.body_hash, grant_id = excluded.grant_id, token = excluded.token,"
        " created_at = excluded.created_at"
        " WHERE (SELECT g.expires_at FROM grants g WHERE g.id = grant_requests.grant_id) <= excluded.created_at",
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


async def forget_spent_requests(db: Executor, issued_by: str, now: str, at_most: int) -> int:
    """Delete up to `at_most` idempotency keys issued by `issued_by` whose grants have expired
    by `now`, oldest first; how many were deleted."""
    return await db.execute(
        "DELETE FROM grant_requests WHERE (driver_id, idempotency_key) IN ("
        " SELECT r.driver_id, r.idempotency_key FROM grant_requests r JOIN grants g ON g.id = r.grant_id"
        " WHERE r.created_at <= $1 AND g.expires_at <= $2 ORDER BY r.created_at LIMIT $3)",
        issued_by,
        now,
        at_most,
    )
