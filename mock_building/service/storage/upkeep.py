"""Door upkeep: each door's queue of statements under its own counter, the revocations already
sent to it, and the carriers' rotated grant keys.

A door's counter must only grow, whichever worker queues the next statement: every statement is
queued after `lock_door` (a row lock on the door, held to the end of the transaction), and its
counter is read under that lock. A carrier's key rotation likewise starts with `lock_carrier`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mock_building.service.storage.database import Executor

__all__ = [
    "CarrierKey",
    "DoorState",
    "QueuedStatement",
    "accept_carrier",
    "add_statement",
    "building_exists",
    "carrier_buildings",
    "carrier_key",
    "carrier_keys",
    "carrier_kid",
    "door_state",
    "doors_in",
    "drop_carrier",
    "last_ack",
    "lock_carrier",
    "lock_door",
    "mark_revocations_sent",
    "next_counter",
    "save_carrier_key",
    "statements_after",
    "unsent_revoked_grants",
    "unsent_revoked_handhelds",
]


# A door has yet to learn of these revocations (the SQL after a SELECT list; $1 door id, $2 now).
_UNSENT_GRANTS = (
    "FROM grants g WHERE g.door_id = $1 AND g.revoked_at IS NOT NULL AND g.expires_at > $2"
    " AND NOT EXISTS (SELECT 1 FROM door_revocations_sent s WHERE s.door_id = $1"
    " AND s.target_kind = 'grant' AND s.target_id = g.id)"
)
_UNSENT_HANDHELDS = (
    "FROM handhelds h WHERE h.revoked_at IS NOT NULL"
    " AND NOT EXISTS (SELECT 1 FROM door_revocations_sent s WHERE s.door_id = $1"
    " AND s.target_kind = 'handheld' AND s.target_id = h.key_id)"
)


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
async def unsent_revoked_grants(db: Executor, door_id: str, now: str) -> list[str]:
    """The door's revoked grants, still live at `now`, not yet sent to it."""
    rows = await db.fetch_all(f"SELECT g.id {_UNSENT_GRANTS} ORDER BY g.id", door_id, now)
    return [row[0] for row in rows]


async def unsent_revoked_handhelds(db: Executor, door_id: str) -> list[str]:
    rows = await db.fetch_all(f"SELECT h.key_id {_UNSENT_HANDHELDS} ORDER BY h.key_id", door_id)
    return [row[0] for row in rows]


async def mark_revocations_sent(db: Executor, door_id: str, target_kind: str, ids: Sequence[str]) -> None:
    """Under `lock_door`; handheld ones are also counted on the door's row (see `door_state`)."""
    await db.execute_many(
        "INSERT INTO door_revocations_sent (door_id, target_kind, target_id) VALUES ($1, $2, $3)",
        [(door_id, target_kind, target) for target in ids],
    )
    if target_kind == "handheld" and ids:
        await db.execute(
            "UPDATE doors SET handhelds_revoked_sent = handhelds_revoked_sent + $2 WHERE id = $1",
            door_id,
            len(ids),
        )


# -- what a fetch needs to know, in one statement ----------------------------------------------
@dataclass(frozen=True)
class DoorState:
    building_id: str
    receipts_through: int | None
    """The highest seq such that every receipt of the door up to it is stored here (None: not seq 0)."""
    last_ack: int | None
    revocations_unsent: bool
    """A revoked handheld key, or a revoked grant for this door still live at `now`, not yet queued."""
    applied_statement: int
    """The counter of the statement the door's newest stored `maintained` receipt names (-1: none)."""
    last_counter: int | None
    """The counter of the newest statement queued for the door (None: none ever was)."""


async def door_state(db: Executor, door_id: str, now: str, ack_kind: int) -> DoorState | None:
    """What a fetch for the door needs, in one statement (a fetch rides on every grant); None: no door.

    Every part is an index lookup: receipt ingest keeps the door's contiguous run and what it applied
    in its head row, so the fetch never reads the door's receipts, and revoked handhelds are counted
    (`revocations.revoke_handheld`, `mark_revocations_sent`), so it never reads them all.
    """
    row = await db.fetch_one(
        # the f-string below inserts this module's constant fragments; every value is a parameter
        "SELECT d.building_id, NULLIF(h.through_seq, -1),"  # noqa: S608
        " (SELECT MAX(value) FROM door_statements WHERE door_id = $1 AND kind = $3),"
        f" EXISTS (SELECT 1 {_UNSENT_GRANTS})"
        # every revoked handheld goes to every door: more revoked than queued for it means one is due
        " OR (SELECT total FROM revocation_totals WHERE target_kind = 'handheld') > d.handhelds_revoked_sent,"
        " COALESCE(h.applied_statement, -1), (SELECT MAX(counter) FROM door_statements WHERE door_id = $1)"
        " FROM doors d LEFT JOIN receipt_heads h ON h.door_id = d.id WHERE d.id = $1",
        door_id,
        now,
        ack_kind,
    )
    if row is None:
        return None
    return DoorState(
        row[0],
        None if row[1] is None else int(row[1]),
        None if row[2] is None else int(row[2]),
        bool(row[3]),
        int(row[4]),
        None if row[5] is None else int(row[5]),
    )


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


async def carrier_kid(db: Executor, carrier_id: str) -> str | None:
    """The carrier's current grant-key id; None if the carrier is unknown."""
    kid: str | None = await db.fetch_value("SELECT kid FROM carriers WHERE id = $1", carrier_id)
    return kid


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


async def carrier_key(db: Executor, carrier_id: str) -> CarrierKey | None:
    """The carrier's rotated grant key; None while it keeps its scenario key."""
    row = await db.fetch_one("SELECT kid, private_key FROM carrier_keys WHERE carrier_id = $1", carrier_id)
    return None if row is None else CarrierKey(carrier_id, row[0], bytes(row[1]))


async def carrier_keys(db: Executor) -> list[CarrierKey]:
    """Every carrier's rotated grant key (a carrier never rotated keeps its scenario key)."""
    rows = await db.fetch_all("SELECT carrier_id, kid, private_key FROM carrier_keys ORDER BY carrier_id")
    return [CarrierKey(row[0], row[1], bytes(row[2])) for row in rows]
