"""Receipt ingest's per-door head row and gap table: exact whatever the order, shared by workers, migrated.

The upload no longer reads a door's whole history; these tests hold the bookkeeping that replaces
that read to the definition: the gaps are the missing seqs below the newest stored one, and
`receipts_through` is the highest seq up to which every receipt is stored.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from mock_building.service.alerts import AlertBook
from mock_building.service.audit import AuditLog
from mock_building.service.receipts import ReceiptIngest
from mock_building.service.seed import seed_database
from mock_building.service.storage import Database, open_database, receipts
from protocol.receipt import receipt_digest
from tests.service_support import NOON, database_location, door_chain, scenario, seeded_at_revision

DOOR = "A-N"

Worker = Callable[[list[bytes]], Awaitable[dict[str, tuple[tuple[int, int], ...]]]]


def expected_gaps(stored: set[int]) -> tuple[tuple[int, int], ...]:
    """The definition: every missing run of seqs below the newest stored one."""
    ranges, expected = [], 0
    for seq in sorted(stored):
        if seq > expected:
            ranges.append((expected, seq - 1))
        expected = seq + 1
    return tuple(ranges)


def expected_through(stored: set[int]) -> int | None:
    through = -1
    while through + 1 in stored:
        through += 1
    return None if through < 0 else through


@pytest.fixture
async def workers(tmp_path) -> AsyncIterator[tuple[Database, list[Worker]]]:
    """Two workers, each with its own connection (pool) to one seeded database of the test's backend."""
    location = database_location(tmp_path)
    databases = [await open_database(location), await open_database(location)]
    await seed_database(databases[0], scenario(), NOON.date(), password_cost=2**10)

    def worker(database: Database) -> Worker:
        audit = AuditLog(database, b"k" * 32)
        ingest = ReceiptIngest(database, audit, AlertBook(database, audit, gap_after_s=60, grant_margin_s=60))

        async def upload(blobs: list[bytes]) -> dict[str, tuple[tuple[int, int], ...]]:
            report = await ingest.upload(blobs, NOON)
            assert {r.status for r in report.results} <= {"accepted", "duplicate"}, report
            return report.gaps

        return upload

    try:
        yield databases[0], [worker(database) for database in databases]
    finally:
        for database in databases:
            await database.close()


@pytest.mark.usefixtures("service_backend")
@pytest.mark.parametrize("seed", range(4))
async def test_gaps_and_through_stay_exact_whatever_the_upload_order(workers, seed):
    database, (upload, _) = workers
    rng = random.Random(seed)
    blobs = door_chain(DOOR, 40)
    stored: set[int] = set()
    while len(stored) < len(blobs):
        # A batch of new receipts anywhere in the chain, often with a few already stored ones again.
        batch = rng.sample(range(len(blobs)), rng.randint(1, 6))
        gaps = await upload([blobs[seq] for seq in batch])
        stored.update(batch)
        assert gaps.get(DOOR, ()) == expected_gaps(stored)
        assert await receipts.gaps_of(database, DOOR) == expected_gaps(stored)
        assert await receipts.receipts_through(database, DOOR) == expected_through(stored)
    assert await receipts.receipts_through(database, DOOR) == len(blobs) - 1


@pytest.mark.usefixtures("service_backend")
async def test_two_workers_uploading_one_doors_receipts_at_once_keep_its_gaps_right(workers):
    """Each upload locks the door's head row first, so neither works from a head the other changed."""
    database, (first, second) = workers
    blobs = door_chain(DOOR, 60)
    # Round by round, one worker fills from the bottom while the other extends the top.
    for start in range(0, 30, 5):
        await asyncio.gather(first(blobs[start : start + 5]), second(blobs[30 + start : 35 + start]))
    assert await receipts.gaps_of(database, DOOR) == ()
    assert await receipts.receipts_through(database, DOOR) == 59


async def test_upgrading_to_receipt_heads_backfills_them_from_stored_receipts(tmp_path):
    """A file at revision 0002 with receipts: the new head rows describe them exactly."""
    path = tmp_path / "service.sqlite3"
    old = await seeded_at_revision(path, "0002")
    north, south = door_chain("A-N", 6), door_chain("A-S", 3)
    # A-N holds 0-2 and 4-5 (3 missing); A-S holds 1-2 (0 missing).
    held = [("A-N", seq, north[seq]) for seq in (0, 1, 2, 4, 5)]
    held += [("A-S", seq, south[seq]) for seq in (1, 2)]
    await old.execute_many(
        "INSERT INTO receipts (door_id, seq, digest, prev_digest, outcome, reason, door_time, raw, received_at)"
        " VALUES ($1, $2, $3, $4, 'refused', 'malformed', $5, $6, $5)",
        [(door, seq, receipt_digest(blob), b"", NOON.isoformat(), blob) for door, seq, blob in held],
    )
    await old.close()

    database = await open_database(path)
    try:
        assert await receipts.receipts_through(database, "A-N") == 2
        assert await receipts.receipts_through(database, "A-S") is None
        assert await receipts.receipts_through(database, "B-1") is None  # a door with no receipts
        async with database.transaction() as tx:
            north_head, south_head = await receipts.lock_head(tx, "A-N"), await receipts.lock_head(tx, "A-S")
        assert north_head == receipts.ReceiptHead(2, 5, receipt_digest(north[5]))
        assert south_head == receipts.ReceiptHead(-1, 2, receipt_digest(south[2]))
    finally:
        await database.close()


async def test_upgrading_to_applied_statements_backfills_each_doors_newest_maintained_receipt(tmp_path):
    """A file at revision 0003: each head learns the statement its door's newest `maintained` receipt names."""
    path = tmp_path / "service.sqlite3"
    old = await seeded_at_revision(path, "0003")
    maintained = {1: 4, 3: 7}  # A-N applied statement 4 at seq 1, then 7 at seq 3; seq 4 is a refusal
    chains = {"A-N": door_chain("A-N", 5, maintained=maintained), "A-S": door_chain("A-S", 2)}
    await old.execute_many(
        "INSERT INTO receipts (door_id, seq, digest, prev_digest, outcome, reason, door_time, raw, received_at)"
        " VALUES ($1, $2, $3, $4, $5, 'ok', $6, $7, $6)",
        [
            (door, seq, receipt_digest(blob), b"", "maintained" if door == "A-N" and seq in maintained
             else "refused", NOON.isoformat(), blob)
            for door, chain in chains.items()
            for seq, blob in enumerate(chain)
        ],
    )  # fmt: skip
    await old.execute_many(
        "INSERT INTO receipt_heads (door_id, through_seq, top_seq, top_digest) VALUES ($1, $2, $2, $3)",
        [(door, len(chain) - 1, receipt_digest(chain[-1])) for door, chain in chains.items()],
    )
    await old.close()

    database = await open_database(path)
    try:
        async with database.transaction() as tx:
            north, south = await receipts.lock_head(tx, "A-N"), await receipts.lock_head(tx, "A-S")
        assert (north.applied_seq, north.applied_statement) == (3, 7)
        assert (south.applied_seq, south.applied_statement) == (-1, -1)
    finally:
        await database.close()
