"""Revocations: drivers, handheld keys and grants marked revoked, and the admin's log of it.

Each mark keeps the first revocation time and names the row it hit (none: unknown target), so a
repeated revocation changes nothing but its log line.
"""

from __future__ import annotations

from dataclasses import dataclass

from mock_building.service.storage.database import Executor

__all__ = [
    "GrantRevoked",
    "HandheldRevoked",
    "log_revocation",
    "revoke_driver",
    "revoke_grant",
    "revoke_handheld",
]


@dataclass(frozen=True)
class HandheldRevoked:
    driver_id: str
    carrier_id: str


@dataclass(frozen=True)
class GrantRevoked:
    driver_id: str
    carrier_id: str
    door_id: str
    stop_id: str
    building_id: str


async def revoke_driver(db: Executor, driver_id: str, at: str) -> str | None:
    """Mark the driver revoked; their carrier, or None for an unknown driver."""
    carrier: str | None = await db.fetch_value(
        "UPDATE drivers SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2 RETURNING carrier_id",
        at,
        driver_id,
    )
    return carrier


async def revoke_handheld(db: Executor, key_id: str, at: str) -> HandheldRevoked | None:
    """A key's first revocation is also counted in `revocation_totals` (what each door's upkeep fetch
    compares with the handheld revocations queued for the door); a repeated one is not.

    The count's row is locked first: a transaction that revokes several keys (a registration retiring
    the oldest) and one revoking one of them then wait in one order, never on each other crosswise.
    """
    await db.execute("UPDATE revocation_totals SET total = total WHERE target_kind = 'handheld'")
    driver_id = await db.fetch_value(
        "UPDATE handhelds SET revoked_at = $1 WHERE key_id = $2 AND revoked_at IS NULL RETURNING driver_id",
        at,
        key_id,
    )
    if driver_id is not None:
        await db.execute("UPDATE revocation_totals SET total = total + 1 WHERE target_kind = 'handheld'")
    else:
        driver_id = await db.fetch_value("SELECT driver_id FROM handhelds WHERE key_id = $1", key_id)
        if driver_id is None:
            return None
    carrier = await db.fetch_value("SELECT carrier_id FROM drivers WHERE id = $1", driver_id)
    return HandheldRevoked(driver_id, carrier)


async def revoke_grant(db: Executor, grant_id: str, at: str) -> GrantRevoked | None:
    row = await db.fetch_one(
        "UPDATE grants SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2"
        " RETURNING driver_id, carrier_id, door_id, stop_id",
        at,
        grant_id,
    )
    if row is None:
        return None
    building = await db.fetch_value("SELECT building_id FROM doors WHERE id = $1", row[2])
    return GrantRevoked(row[0], row[1], row[2], row[3], building)


async def log_revocation(db: Executor, at: str, target_kind: str, target_id: str, reason: str) -> None:
    await db.execute(
        "INSERT INTO revocations (at, target_kind, target_id, reason) VALUES ($1, $2, $3, $4)",
        at,
        target_kind,
        target_id,
        reason,
    )
