"""Drivers and their sessions: accounts, sign-in throttling, token families, handheld keys.

Decisions that several workers may race on are made by the database: a throttle failure is one
atomic upsert that returns the new count, a refresh token is claimed by a conditional UPDATE (only
one claimant changes the row), and handheld registration locks the driver's row first.
"""

from __future__ import annotations

from dataclasses import dataclass

from mock_building.service.storage.database import Executor

__all__ = [
    "AccessSession",
    "Credentials",
    "HandheldOwner",
    "NewSession",
    "RefreshSession",
    "ThrottleState",
    "access_session",
    "add_driver",
    "add_handheld",
    "add_session",
    "claim_refresh",
    "clear_throttle",
    "credentials",
    "delete_sessions",
    "driver_ids",
    "end_family",
    "families_of",
    "handheld_owner",
    "live_handhelds",
    "lock_driver",
    "manager_token_hash",
    "record_failure",
    "refresh_session",
    "set_blocked_until",
    "start_family",
    "throttle_states",
]


@dataclass(frozen=True)
class Credentials:
    password_hash: str
    revoked: bool


@dataclass(frozen=True)
class ThrottleState:
    failures: int
    blocked_until_epoch: float


@dataclass(frozen=True)
class NewSession:
    access_hash: bytes
    refresh_hash: bytes
    driver_id: str
    family_id: str
    access_expires_epoch: float
    refresh_expires_epoch: float


@dataclass(frozen=True)
class RefreshSession:
    """The session a refresh token belongs to, with what decides whether it may refresh."""

    driver_id: str
    family_id: str
    refresh_expires_epoch: float
    family_ended: bool
    driver_revoked: bool


@dataclass(frozen=True)
class AccessSession:
    """A live (family not ended) session found by its access token, with its driver."""

    access_expires_epoch: float
    driver_id: str
    carrier_id: str
    name: str
    driver_revoked: bool


@dataclass(frozen=True)
class HandheldOwner:
    driver_id: str
    revoked: bool


# -- drivers -------------------------------------------------------------------------------
async def driver_ids(db: Executor) -> set[str]:
    return {row[0] for row in await db.fetch_all("SELECT id FROM drivers")}


async def add_driver(db: Executor, driver_id: str, name: str, carrier_id: str, password_hash: str) -> None:
    await db.execute(
        "INSERT INTO drivers (id, name, carrier_id, password_hash) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT DO NOTHING",
        driver_id,
        name,
        carrier_id,
        password_hash,
    )


async def credentials(db: Executor, driver_id: str) -> Credentials | None:
    row = await db.fetch_one("SELECT password_hash, revoked_at FROM drivers WHERE id = $1", driver_id)
    return None if row is None else Credentials(row[0], row[1] is not None)


async def lock_driver(db: Executor, driver_id: str) -> None:
    """Take the driver's row lock for the rest of the transaction (a no-op UPDATE: portable FOR UPDATE)."""
    await db.execute("UPDATE drivers SET revoked_at = revoked_at WHERE id = $1", driver_id)


async def manager_token_hash(db: Executor, building_id: str) -> bytes | None:
    """The hash of the building's manager token (None: unknown building, or no manager)."""
    value = await db.fetch_value("SELECT manager_token_hash FROM buildings WHERE id = $1", building_id)
    return None if value is None else bytes(value)


# -- sign-in throttle ----------------------------------------------------------------------
async def throttle_states(db: Executor, first: str, second: str) -> dict[str, ThrottleState]:
    """The throttle state of two keys (an account's and a client's) in one statement; absent: none."""
    rows = await db.fetch_all(
        "SELECT key, failures, blocked_until_epoch FROM sign_in_throttle WHERE key = $1 OR key = $2",
        first,
        second,
    )
    return {row[0]: ThrottleState(row[1], row[2]) for row in rows}


async def record_failure(db: Executor, key: str, stamp: float, forget_after_s: float) -> int:
    """Count one failure of `key` atomically (a count older than `forget_after_s` starts over).

    Returns the new count; the key's row stays locked until the transaction ends, so its wait is
    set from this very count by `set_blocked_until` in the same transaction.
    """
    failures: int = await db.fetch_value(
        "INSERT INTO sign_in_throttle (key, failures, last_failure_epoch, blocked_until_epoch)"
        " VALUES ($1, 1, $2, $2) ON CONFLICT (key) DO UPDATE SET"
        " failures = CASE WHEN excluded.last_failure_epoch - sign_in_throttle.last_failure_epoch > $3"
        " THEN 1 ELSE sign_in_throttle.failures + 1 END,"
        " last_failure_epoch = excluded.last_failure_epoch"
        " RETURNING failures",
        key,
        float(stamp),
        float(forget_after_s),
    )
    return int(failures)


async def set_blocked_until(db: Executor, key: str, until_epoch: float) -> None:
    await db.execute(
        "UPDATE sign_in_throttle SET blocked_until_epoch = $2 WHERE key = $1", key, float(until_epoch)
    )


async def clear_throttle(db: Executor, key: str) -> None:
    await db.execute("DELETE FROM sign_in_throttle WHERE key = $1", key)


# -- sessions and their families ------------------------------------------------------------
async def start_family(db: Executor, family_id: str, driver_id: str, created_at: str) -> None:
    await db.execute(
        "INSERT INTO session_families (id, driver_id, created_at) VALUES ($1, $2, $3)",
        family_id,
        driver_id,
        created_at,
    )


async def add_session(db: Executor, session: NewSession) -> None:
    await db.execute(
        "INSERT INTO sessions (access_hash, refresh_hash, driver_id, family_id, access_expires_epoch,"
        " refresh_expires_epoch) VALUES ($1, $2, $3, $4, $5, $6)",
        session.access_hash,
        session.refresh_hash,
        session.driver_id,
        session.family_id,
        float(session.access_expires_epoch),
        float(session.refresh_expires_epoch),
    )


async def claim_refresh(db: Executor, refresh_hash: bytes, used_at: str) -> bool:
    """Mark the refresh token used; True for exactly one of any number of concurrent claimants.

    The row lock makes a second claimant wait for the first's transaction, then find the token used.
    """
    claimed = await db.execute(
        "UPDATE sessions SET refresh_used_at = $1 WHERE refresh_hash = $2 AND refresh_used_at IS NULL",
        used_at,
        refresh_hash,
    )
    return claimed == 1


async def refresh_session(db: Executor, refresh_hash: bytes) -> RefreshSession | None:
    row = await db.fetch_one(
        "SELECT s.driver_id, s.family_id, s.refresh_expires_epoch, f.ended_at, d.revoked_at"
        " FROM sessions s JOIN drivers d ON d.id = s.driver_id"
        " JOIN session_families f ON f.id = s.family_id WHERE s.refresh_hash = $1",
        refresh_hash,
    )
    if row is None:
        return None
    return RefreshSession(row[0], row[1], row[2], row[3] is not None, row[4] is not None)


async def access_session(db: Executor, access_hash: bytes) -> AccessSession | None:
    """One indexed lookup (every authenticated request makes it)."""
    row = await db.fetch_one(
        "SELECT s.access_expires_epoch, d.id, d.carrier_id, d.name, d.revoked_at FROM sessions s"
        " JOIN drivers d ON d.id = s.driver_id JOIN session_families f ON f.id = s.family_id"
        " WHERE s.access_hash = $1 AND f.ended_at IS NULL",
        access_hash,
    )
    return None if row is None else AccessSession(row[0], row[1], row[2], row[3], row[4] is not None)


async def families_of(db: Executor, access_hash: bytes, refresh_hash: bytes) -> list[str]:
    """The families of the session holding either token."""
    rows = await db.fetch_all(
        "SELECT family_id FROM sessions WHERE access_hash = $1 OR refresh_hash = $2",
        access_hash,
        refresh_hash,
    )
    return [row[0] for row in rows]


async def end_family(db: Executor, family_id: str, reason: str, at: str) -> None:
    """End the family (the first end and its reason are kept)."""
    await db.execute(
        "UPDATE session_families SET ended_at = COALESCE(ended_at, $1), end_reason = COALESCE(end_reason, $2)"
        " WHERE id = $3",
        at,
        reason,
        family_id,
    )


async def delete_sessions(db: Executor, driver_id: str) -> None:
    await db.execute("DELETE FROM sessions WHERE driver_id = $1", driver_id)


# -- handheld keys ----------------------------------------------------------------------------
async def handheld_owner(db: Executor, key_id: str) -> HandheldOwner | None:
    row = await db.fetch_one("SELECT driver_id, revoked_at FROM handhelds WHERE key_id = $1", key_id)
    return None if row is None else HandheldOwner(row[0], row[1] is not None)


async def add_handheld(
    db: Executor, key_id: str, driver_id: str, public_key: bytes, registered_at: str
) -> None:
    await db.execute(
        "INSERT INTO handhelds (key_id, driver_id, public_key, registered_at) VALUES ($1, $2, $3, $4)",
        key_id,
        driver_id,
        public_key,
        registered_at,
    )


async def live_handhelds(db: Executor, driver_id: str) -> list[str]:
    """The driver's unrevoked key ids, newest first (same-instant ties broken by key id)."""
    rows = await db.fetch_all(
        "SELECT key_id FROM handhelds WHERE driver_id = $1 AND revoked_at IS NULL"
        " ORDER BY registered_at DESC, key_id DESC",
        driver_id,
    )
    return [row[0] for row in rows]
