"""The SQLite backend's one connection: no statement lands inside another task's open transaction.

A statement made on the database runs at once when no transaction is open, and waits for the one
that is; a statement on the database from inside this task's own transaction is refused.
"""

from __future__ import annotations

import asyncio

import pytest

from mock_building.service.storage import SqliteDatabase


@pytest.fixture
async def database(tmp_path):
    db = SqliteDatabase.open(tmp_path / "locking.sqlite3")
    await db.execute("CREATE TABLE items (n INTEGER NOT NULL)")
    yield db
    await db.close()


async def test_a_statement_waits_for_the_open_transaction_and_sees_it_committed(database):
    inside, release = asyncio.Event(), asyncio.Event()

    async def writer() -> None:
        async with database.transaction() as tx:
            await tx.execute("INSERT INTO items (n) VALUES ($1)", 1)
            inside.set()
            await release.wait()
            await tx.execute("INSERT INTO items (n) VALUES ($1)", 2)

    writing = asyncio.create_task(writer())
    await asyncio.wait_for(inside.wait(), 10)
    reading = asyncio.create_task(database.fetch_value("SELECT COUNT(*) FROM items"))
    await asyncio.sleep(0.05)  # gives the reader every chance to run early; it must not
    assert not reading.done()
    release.set()
    assert await asyncio.wait_for(reading, 10) == 2
    await writing


async def test_a_statement_runs_at_once_when_no_transaction_is_open(database):
    assert await database.execute("INSERT INTO items (n) VALUES ($1)", 7) == 1
    assert await database.fetch_value("SELECT n FROM items") == 7


async def _insert_then_fail(database: SqliteDatabase) -> None:
    async with database.transaction() as tx:
        await tx.execute("INSERT INTO items (n) VALUES ($1)", 1)
        raise ValueError("refused")


async def test_a_failed_transaction_rolls_back_and_frees_the_connection(database):
    with pytest.raises(ValueError, match="refused"):
        await _insert_then_fail(database)
    assert await database.fetch_value("SELECT COUNT(*) FROM items") == 0
    async with database.transaction() as tx:
        await tx.execute("INSERT INTO items (n) VALUES ($1)", 3)
    assert [tuple(row) for row in await database.fetch_all("SELECT n FROM items")] == [(3,)]


async def test_the_database_itself_is_refused_inside_its_own_transaction(database):
    async with database.transaction():
        with pytest.raises(RuntimeError, match="outside the open transaction"):
            await database.fetch_value("SELECT COUNT(*) FROM items")
        with pytest.raises(RuntimeError, match="outside the open transaction"):
            async with database.transaction():
                pass
    assert await database.fetch_value("SELECT COUNT(*) FROM items") == 0
