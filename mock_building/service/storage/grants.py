"""Grants: the ones issued, the requests they answered (idempotency keys), and the grant rate limit.

The rate limit is kept in the database, so it holds across every worker process.
"""

from __future__ import annotations

from dataclasses import dataclass

from mock_building.service.storage.database import Executor

__all__ = ["GrantRecord", "RememberedGrant", "handheld_key", "record_grant", "remember_request", "replay",
           "take_rate_slot"]  # fmt: skip


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


async def handheld_key(db: Executor, key_id: str, driver_id: str) -> tuple[bytes, bool] | None:
    """(public key, revoked) of this driver's handheld key; None when it is not theirs or unknown."""
    row = await db.fetch_one(
        "SELECT public_key, revoked_at FROM handhelds WHERE key_id = $1 AND driver_id = $2", key_id, driver_id
    )
    return None if row is None else (bytes(row[0]), row[1] is not None)


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
