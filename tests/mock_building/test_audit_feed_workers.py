"""A building's audit feed with several workers: an event that commits late is not skipped by a cursor.

Only PostgreSQL lets two transactions write at once (SQLite has one writer), so this runs there.
"""

from __future__ import annotations

import asyncio

from mock_building.service.audit import AuditKind, AuditLog
from mock_building.service.seed import seed_database
from mock_building.service.storage import Executor, open_database
from tests.service_support import NOON, scenario


async def _door_event(log: AuditLog, db: Executor, door_id: str) -> None:
    await log.record(
        db, at=NOON, kind=AuditKind.DOOR, outcome="door_unlocked", reason="ok", building_id="A",
        door_id=door_id, driver_id="alice",
    )  # fmt: skip


async def test_an_event_committed_after_a_later_one_still_reaches_the_feed(postgres_url):
    database = await open_database(postgres_url)
    await seed_database(database, scenario(), NOON.date(), password_cost=2**10)
    log = AuditLog(database, b"k" * 32)
    written, commit = asyncio.Event(), asyncio.Event()

    async def slow_worker() -> None:
        async with database.transaction() as tx:
            await _door_event(log, tx, "A-N")  # the smaller id ...
            written.set()
            await commit.wait()  # ... committed only after the manager has read a later event

    slow = asyncio.create_task(slow_worker())
    try:
        await asyncio.wait_for(written.wait(), 10)
        await _door_event(log, database, "A-S")
        first = await log.building_feed("A")
        assert [event.door_id for _, event in first] == ["A-S"]
        commit.set()
        await asyncio.wait_for(slow, 10)
        later = await log.building_feed("A", after_id=first[-1][0])
        assert [event.door_id for _, event in later] == ["A-N"]
    finally:
        commit.set()
        await database.close()


async def test_readers_numbering_the_feed_at_once_give_each_event_one_place(postgres_url):
    database = await open_database(postgres_url)
    await seed_database(database, scenario(), NOON.date(), password_cost=2**10)
    log = AuditLog(database, b"k" * 32)
    try:
        for n in range(30):
            await _door_event(log, database, ("A-N", "A-S")[n % 2])
        pages = await asyncio.gather(*(log.building_feed("A", limit=100) for _ in range(5)))
        cursors = [[cursor for cursor, _ in page] for page in pages]
        assert all(page == cursors[0] for page in cursors) and len(set(cursors[0])) == 30
    finally:
        await database.close()
