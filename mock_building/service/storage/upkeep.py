"""Door upkeep: each door's queue of statements under its own counter, the revocations already
sent to it, and the carriers' rotated grant keys.

A door's counter must only grow, whichever worker queues the next statement: every statement is
queued after `lock_door` (a row lock on the door, held to the end of the transaction), and its
counter is read under that lock. A carrier's key rotation likewise starts with `lock_carrier`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from mock_building.service.storage.database import Executor

__all__ = [
    "CarrierKey",
    "QueuedStatement",
    "accept_carrier",
    "add_statement",
    "applied_receipt",
    "building_exists",
    "building_of_door",
    "carrier_buildings",
    "carrier_keys",
    "doors_in",
    "drop_carrier",
    "last_ack",
    "lock_carrier",
    "lock_door",
    "mark_revocations_sent",
    "next_counter",
    "receipts_through",
    "save_carrier_key",
    "statements_after",
    "unsent_revoked_grants",
    "unsent_revoked_handhelds",
]


@dataclass(frozen=True)
class QueuedStatement:
    counter: int
    kind: int
    raw: bytes | None
    """None: a time statement, signed when fetched."""


@dataclass(frozen=True)
class CarrierKey:
    carrier_id: str
    kid: str
    private_key: bytes


# -- buildings and doors -----------------------------------------------------------------------
async def building_exists(db: Executor, building_id: str) -> bool:
    return await db.fetch_value("SELECT 1 FROM buildings WHERE id = $1", building_id) is not None


async def building_of_door(db: Executor, door_id: str) -> str | None:
    building: str | None = await db.fetch_value("SELECT building_id FROM doors WHERE id = $1", door_id)
    return building


async def lock_door(db: Executor, door_id: str) -> str | None:
    """Lock the door's row to the end of the transaction; its building, or None for an unknown door."""
    building: str | None = await db.fetch_value(
        "UPDATE doors SET building_id = building_id WHERE id = $1 RETURNING building_id", door_id
    )
    return building


async def doors_in(db: Executor, building_id: str) -> list[str]:
    """The building's doors in id order (the order multi-door changes lock them in)."""
    rows = await db.fetch_all("SELECT id FROM doors WHERE building_id = $1 ORDER BY id", building_id)
    return [row[0] for row in rows]


# -- the statement queue ---------------------------------------------------------------------
async def next_counter(db: Executor, door_id: str) -> int:
    """The door's next statement counter; read it only under `lock_door`."""
    value = await db.fetch_value(
        "SELECT COALESCE(MAX(counter), 0) + 1 FROM door_statements WHERE door_id = $1", door_id
    )
    return int(value)


async def add_statement(
    db: Executor, door_id: str, counter: int, kind: int, value: int | None, raw: bytes | None, created_at: str
) -> None:
    await db.execute(
        "INSERT INTO door_statements (door_id, counter, kind, value, raw, created_at)"
        " VALUES ($1, $2, $3, $4, $5, $6)",
        door_id,
        counter,
        kind,
        value,
        raw,
        created_at,
    )


async def statements_after(db: Executor, door_id: str, counter: int) -> list[QueuedStatement]:
    rows = await db.fetch_all(
        "SELECT counter, kind, raw FROM door_statements WHERE door_id = $1 AND counter > $2 ORDER BY counter",
        door_id,
        counter,
    )
    return [QueuedStatement(row[0], row[1], None if row[2] is None else bytes(row[2])) for row in rows]


async def last_ack(db: Executor, door_id: str, ack_kind: int) -> int | None:
    """The highest receipt seq an ack queued for the door covers."""
    value = await db.fetch_value(
        "SELECT MAX(value) FROM door_statements WHERE door_id = $1 AND kind = $2", door_id, ack_kind
    )
    return None if value is None else int(value)


# -- revocations a door has yet to learn ---------------------------------------------------------
async def unsent_revoked_grants(db: Executor, door_id: str) -> list[tuple[str, str]]:
    """(grant id, expires_at) of the door's revoked grants not yet sent to it."""
    rows = await db.fetch_all(
        "SELECT g.id, g.expires_at FROM grants g WHERE g.door_id = $1 AND g.revoked_at IS NOT NULL"
        " AND NOT EXISTS (SELECT 1 FROM door_revocations_sent s WHERE s.door_id = $1"
        " AND s.target_kind = 'grant' AND s.target_id = g.id) ORDER BY g.id",
        door_id,
    )
    return [(row[0], row[1]) for row in rows]


async def unsent_revoked_handhelds(db: Executor, door_id: str) -> list[str]:
    rows = await db.fetch_all(
        "SELECT h.key_id FROM handhelds h WHERE h.revoked_at IS NOT NULL"
        " AND NOT EXISTS (SELECT 1 FROM door_revocations_sent s WHERE s.door_id = $1"
        " AND s.target_kind = 'handheld' AND s.target_id = h.key_id) ORDER BY h.key_id",
        door_id,
    )
    return [row[0] for row in rows]


async def mark_revocations_sent(db: Executor, door_id: str, target_kind: str, ids: Iterable[str]) -> None:
    await db.execute_many(
        "INSERT INTO door_revocations_sent (door_id, target_kind, target_id) VALUES ($1, $2, $3)",
        [(door_id, target_kind, target) for target in ids],
    )


# -- what the door's receipts show -------------------------------------------------------------
async def receipts_through(db: Executor, door_id: str) -> int | None:
    """The highest seq such that every receipt of the door up to it is stored here (None: not seq 0)."""
    if await db.fetch_value("SELECT 1 FROM receipts WHERE door_id = $1 AND seq = 0", door_id) is None:
        return None
    value = await db.fetch_value(
        "SELECT MIN(r.seq) FROM receipts r WHERE r.door_id = $1 AND NOT EXISTS"
        " (SELECT 1 FROM receipts n WHERE n.door_id = r.door_id AND n.seq = r.seq + 1)",
        door_id,
    )
    return int(value)


async def applied_receipt(db: Executor, door_id: str) -> bytes | None:
    """The raw newest `maintained` receipt of the door (it names the statement the door applied)."""
    value = await db.fetch_value(
        "SELECT raw FROM receipts WHERE door_id = $1 AND outcome = 'maintained' ORDER BY seq DESC LIMIT 1",
        door_id,
    )
    return None if value is None else bytes(value)


# -- carriers ----------------------------------------------------------------------------------
async def accept_carrier(db: Executor, building_id: str, carrier_id: str) -> None:
    await db.execute(
        "INSERT INTO building_carriers (building_id, carrier_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        building_id,
        carrier_id,
    )


async def drop_carrier(db: Executor, building_id: str, carrier_id: str) -> None:
    await db.execute(
        "DELETE FROM building_carriers WHERE building_id = $1 AND carrier_id = $2", building_id, carrier_id
    )


async def carrier_buildings(db: Executor, carrier_id: str) -> list[str]:
    rows = await db.fetch_all(
        "SELECT building_id FROM building_carriers WHERE carrier_id = $1 ORDER BY building_id", carrier_id
    )
    return [row[0] for row in rows]


async def lock_carrier(db: Executor, carrier_id: str) -> str | None:
    """Lock the carrier's row to the end of the transaction; its current kid, or None if unknown."""
    kid: str | None = await db.fetch_value(
        "UPDATE carriers SET kid = kid WHERE id = $1 RETURNING kid", carrier_id
    )
    return kid


async def save_carrier_key(db: Executor, key: CarrierKey, public_key: bytes, created_at: str) -> None:
    """The carrier's new grant key: stored (for restarts and other workers) and published."""
    await db.execute(
        "INSERT INTO carrier_keys (carrier_id, kid, private_key, created_at) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (carrier_id) DO UPDATE SET kid = excluded.kid, private_key = excluded.private_key,"
        " created_at = excluded.created_at",
        key.carrier_id,
        key.kid,
        key.private_key,
        created_at,
    )
    await db.execute(
        "UPDATE carriers SET kid = $1, public_key = $2 WHERE id = $3", key.kid, public_key, key.carrier_id
    )


async def carrier_keys(db: Executor) -> list[CarrierKey]:
    """Every carrier's rotated grant key (a carrier never rotated keeps its scenario key)."""
    rows = await db.fetch_all("SELECT carrier_id, kid, private_key FROM carrier_keys ORDER BY carrier_id")
    return [CarrierKey(row[0], row[1], bytes(row[2])) for row in rows]
