"""Door receipts, each door's head row and its missing-receipt gaps.

An upload must cost what its batch costs, not what the door's history costs. So each door has one
head row (`receipt_heads`: the highest seq up to which every receipt is stored, the newest stored
receipt with its digest, and the newest `maintained` one with the statement it says the door applied)
and its gaps (`receipt_gaps`: the missing ranges below the newest, each with when it opened). Storing a
receipt touches its own row, the head and at most the gap it falls in or opens; a stored neighbour is
one primary-key lookup.

Workers share the database: an upload locks the door's head row first (`lock_head`), so two
uploads for one door are serialised and the head and gaps always describe the stored receipts.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from mock_building.service.storage.database import Executor

__all__ = [
    "DoorKey",
    "Link",
    "NewReceipt",
    "QuotedGrant",
    "ReceiptHead",
    "TenantReceipt",
    "add_receipt",
    "door_key",
    "gaps_of",
    "lock_head",
    "neighbours",
    "quoted_grant",
    "receipts_through",
    "save_head",
    "tenant_receipts",
]


@dataclass(frozen=True)
class DoorKey:
    building_id: str
    public_key: bytes


@dataclass(frozen=True)
class ReceiptHead:
    """What is stored of one door's receipt chain, in one row."""

    through_seq: int
    """Every receipt 0..through_seq is stored; -1 while seq 0 is missing."""
    top_seq: int
    """The newest stored seq; -1 when none is."""
    top_digest: bytes | None
    """The digest of receipt `top_seq` (what the next receipt must link to)."""
    applied_seq: int = -1
    """The newest stored `maintained` receipt; -1 when none is."""
    applied_statement: int = -1
    """The counter of the statement receipt `applied_seq` says the door applied; -1 when none did."""


@dataclass(frozen=True)
class Link:
    """A stored receipt as its chain neighbours see it."""

    seq: int
    digest: bytes
    prev_digest: bytes


@dataclass(frozen=True)
class NewReceipt:
    door_id: str
    seq: int
    digest: bytes
    prev_digest: bytes
    grant_id: str | None
    outcome: str
    reason: str
    door_time: str
    raw: bytes
    received_at: str
    statement: int | None = None
    """The counter of the statement the door applied (a `maintained` receipt has one, no other does)."""


@dataclass(frozen=True)
class QuotedGrant:
    """The grant a receipt quotes, as issued for that receipt's door."""

    driver_id: str
    carrier_id: str
    stop_id: str
    revoked_at: str | None


@dataclass(frozen=True)
class TenantReceipt:
    door_time: str
    door_id: str
    seq: int
    outcome: str
    reason: str
    carrier_id: str | None
    chained: bool
    """Seq 0, or its predecessor is stored."""


async def door_key(db: Executor, door_id: str) -> DoorKey | None:
    row = await db.fetch_one("SELECT building_id, public_key FROM doors WHERE id = $1", door_id)
    return None if row is None else DoorKey(row[0], bytes(row[1]))


async def lock_head(db: Executor, door_id: str) -> ReceiptHead:
    """The door's head row, created if missing and locked until the transaction ends.

    Call it first for each door of an upload, doors in a fixed order (so two uploads never wait on
    each other crosswise).
    """
    row = await db.fetch_one(
        "INSERT INTO receipt_heads (door_id, through_seq, top_seq, top_digest) VALUES ($1, -1, -1, NULL)"
        " ON CONFLICT (door_id) DO UPDATE SET top_seq = receipt_heads.top_seq"
        " RETURNING through_seq, top_seq, top_digest, applied_seq, applied_statement",
        door_id,
    )
    assert row is not None  # an upsert with RETURNING always returns its row
    return ReceiptHead(row[0], row[1], None if row[2] is None else bytes(row[2]), row[3], row[4])


async def save_head(db: Executor, door_id: str, head: ReceiptHead) -> None:
    await db.execute(
        "UPDATE receipt_heads SET through_seq = $2, top_seq = $3, top_digest = $4, applied_seq = $5,"
        " applied_statement = $6 WHERE door_id = $1",
        door_id,
        head.through_seq,
        head.top_seq,
        head.top_digest,
        head.applied_seq,
        head.applied_statement,
    )


async def neighbours(db: Executor, door_id: str, seq: int) -> dict[int, Link]:
    """The stored receipts seq-1, seq and seq+1 of the door, by seq."""
    rows = await db.fetch_all(
        "SELECT seq, digest, prev_digest FROM receipts WHERE door_id = $1 AND seq BETWEEN $2 AND $3",
        door_id,
        seq - 1,
        seq + 1,
    )
    return {r[0]: Link(r[0], bytes(r[1]), bytes(r[2])) for r in rows}


async def add_receipt(db: Executor, receipt: NewReceipt, head: ReceiptHead) -> ReceiptHead:
    """Store a receipt whose seq is not stored yet (under `lock_head`) and keep the gaps current.

    A gap that shrinks or splits keeps the opening time of the gap it came from; a receipt beyond
    the newest opens a gap (stamped `received_at`) for what lies between; the newest `maintained`
    receipt is the door's applied statement. Returns the new head,
    for `save_head` once the upload is done with the door.
    """
    seq = receipt.seq
    gapless = head.through_seq == head.top_seq
    if seq > head.top_seq + 1:
        await db.execute(
            "INSERT INTO receipt_gaps (door_id, first_seq, last_seq, open_since) VALUES ($1, $2, $3, $4)",
            receipt.door_id,
            head.top_seq + 1,
            seq - 1,
            receipt.received_at,
        )
    elif seq <= head.top_seq:
        await _fill(db, receipt.door_id, seq)
    await db.execute(
        "INSERT INTO receipts (door_id, seq, digest, prev_digest, grant_id, outcome, reason, door_time, raw,"
        " received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        receipt.door_id,
        seq,
        receipt.digest,
        receipt.prev_digest,
        receipt.grant_id,
        receipt.outcome,
        receipt.reason,
        receipt.door_time,
        receipt.raw,
        receipt.received_at,
    )
    if seq > head.top_seq:
        head = replace(head, top_seq=seq, top_digest=receipt.digest)
    if receipt.statement is not None and seq > head.applied_seq:
        head = replace(head, applied_seq=seq, applied_statement=receipt.statement)
    if seq == head.through_seq + 1:
        # The contiguous run now reaches up to the lowest remaining gap, or to the newest receipt.
        lowest = None
        if not gapless:
            lowest = await db.fetch_value(
                "SELECT MIN(first_seq) FROM receipt_gaps WHERE door_id = $1", receipt.door_id
            )
        head = replace(head, through_seq=head.top_seq if lowest is None else int(lowest) - 1)
    return head


async def _fill(db: Executor, door_id: str, seq: int) -> None:
    """`seq` (below the newest stored) arrived: shrink or split the gap it was missing from."""
    gap = await db.fetch_one(
        "SELECT first_seq, last_seq, open_since FROM receipt_gaps WHERE door_id = $1 AND first_seq <= $2"
        " ORDER BY first_seq DESC LIMIT 1",
        door_id,
        seq,
    )
    if gap is None or gap[1] < seq:
        return
    first, last, since = int(gap[0]), int(gap[1]), gap[2]
    await db.execute("DELETE FROM receipt_gaps WHERE door_id = $1 AND first_seq = $2", door_id, first)
    await db.execute_many(
        "INSERT INTO receipt_gaps (door_id, first_seq, last_seq, open_since) VALUES ($1, $2, $3, $4)",
        [(door_id, a, b, since) for a, b in ((first, seq - 1), (seq + 1, last)) if a <= b],
    )


async def gaps_of(db: Executor, door_id: str) -> tuple[tuple[int, int], ...]:
    """The door's missing receipts as inclusive (first, last) ranges, oldest first."""
    rows = await db.fetch_all(
        "SELECT first_seq, last_seq FROM receipt_gaps WHERE door_id = $1 ORDER BY first_seq", door_id
    )
    return tuple((int(r[0]), int(r[1])) for r in rows)


async def receipts_through(db: Executor, door_id: str) -> int | None:
    """The highest seq such that every receipt of the door up to it is stored (None: seq 0 is not)."""
    through = await db.fetch_value("SELECT through_seq FROM receipt_heads WHERE door_id = $1", door_id)
    return None if through is None or through < 0 else int(through)


async def quoted_grant(db: Executor, grant_id: str, door_id: str) -> QuotedGrant | None:
    row = await db.fetch_one(
        "SELECT driver_id, carrier_id, stop_id, revoked_at FROM grants WHERE id = $1 AND door_id = $2",
        grant_id,
        door_id,
    )
    return None if row is None else QuotedGrant(row[0], row[1], row[2], row[3])


async def tenant_receipts(db: Executor, building_id: str, *, since: str, limit: int) -> list[TenantReceipt]:
    """A building's stored receipts from door time `since` on, oldest first, with the quoted carrier."""
    rows = await db.fetch_all(
        "SELECT r.door_time, r.door_id, r.seq, r.outcome, r.reason, g.carrier_id,"
        " (r.seq = 0 OR EXISTS (SELECT 1 FROM receipts p WHERE p.door_id = r.door_id AND p.seq = r.seq - 1))"
        " FROM receipts r JOIN doors d ON d.id = r.door_id"
        " LEFT JOIN grants g ON g.id = r.grant_id AND g.door_id = r.door_id"
        " WHERE d.building_id = $1 AND r.door_time >= $2 ORDER BY r.door_time, r.door_id, r.seq LIMIT $3",
        building_id,
        since,
        limit,
    )
    return [TenantReceipt(r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6])) for r in rows]
