"""The SQLite backend's one connection: locking, and the group commit of one turn's transactions.

A statement made on the database runs at once when no transaction is open, and waits for the one
that is; a statement on the database from inside this task's own transaction is refused.

Group commit: a transaction's `async with` returns only once its changes are committed (another
connection sees them), a failed transaction is rolled back alone, a caller that stops waiting does
not stop the commit, and a failed COMMIT fails every transaction of its batch. Another connection
on the file (another process, or another handle in this one) is waited for without blocking the loop.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading

import pytest

from mock_building.errors import DatabaseUnavailable, StoreError
from mock_building.service.storage import SqliteDatabase, open_database, sqlite
from mock_building.service.storage.schema import HEAD


@pytest.fixture
async def database(tmp_path):
    db = SqliteDatabase.open(tmp_path / "locking.sqlite3")
    await db.execute("CREATE TABLE items (n INTEGER PRIMARY KEY)")
    yield db
    await db.close()


async def _slow_transaction(database: SqliteDatabase, inside: asyncio.Event, release: asyncio.Event) -> None:
    """Inserts 1, waits across turns of the loop until `release`, inserts 2."""
    async with database.transaction() as tx:
        await tx.execute("INSERT INTO items (n) VALUES ($1)", 1)
        inside.set()
        await release.wait()
        await tx.execute("INSERT INTO items (n) VALUES ($1)", 2)


async def test_a_statement_waits_for_the_open_transaction_and_sees_it_committed(database):
    inside, release = asyncio.Event(), asyncio.Event()
    writing = asyncio.create_task(_slow_transaction(database, inside, release))
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


@pytest.fixture
def commits(database):
    """The COMMIT statements the connection runs, seen through sqlite3's trace hook."""
    seen: list[str] = []
    database.conn.set_trace_callback(lambda sql: seen.append(sql) if sql == "COMMIT" else None)
    return seen


def _path(database: SqliteDatabase) -> str:
    return database.conn.execute("PRAGMA database_list").fetchone()[2]


def _committed(database: SqliteDatabase) -> list[int]:
    """The rows another connection sees: only what is committed."""
    with sqlite3.connect(_path(database)) as other:
        return [n for (n,) in other.execute("SELECT n FROM items ORDER BY n")]


async def _insert(database: SqliteDatabase, n: int) -> list[int]:
    async with database.transaction() as tx:
        await tx.execute("INSERT INTO items (n) VALUES ($1)", n)
    return _committed(database)


async def test_transactions_of_one_turn_share_one_commit_and_return_committed(database, commits):
    seen_on_return = await asyncio.gather(*(_insert(database, n) for n in range(20)))
    assert commits == ["COMMIT"]
    assert all(seen == list(range(20)) for seen in seen_on_return)


async def test_a_failed_transaction_is_rolled_back_alone(database):
    async def insert_then_fail(n: int) -> None:
        async with database.transaction() as tx:
            await tx.execute("INSERT INTO items (n) VALUES ($1)", n)
            raise ValueError("refused")

    outcomes = await asyncio.gather(
        _insert(database, 1), insert_then_fail(2), _insert(database, 3), return_exceptions=True
    )
    assert isinstance(outcomes[1], ValueError)
    assert _committed(database) == [1, 3]


async def test_a_statement_that_writes_inside_an_open_batch_returns_once_committed(database, commits):
    async def write_alone() -> list[int]:
        await database.execute("INSERT INTO items (n) VALUES ($1)", 2)
        return _committed(database)

    in_transaction, alone = await asyncio.gather(_insert(database, 1), write_alone())
    assert commits == ["COMMIT"]  # it joined the open batch ...
    assert alone == [1, 2]  # ... and returned only after that batch committed
    assert in_transaction == [1, 2]


async def test_a_transaction_that_awaits_across_turns_holds_the_batch_until_it_ends(database):
    inside, release = asyncio.Event(), asyncio.Event()
    slow_task = asyncio.create_task(_slow_transaction(database, inside, release))
    await asyncio.wait_for(inside.wait(), 10)
    for _ in range(5):  # several turns pass: nothing half-done may be committed meanwhile
        await asyncio.sleep(0)
    assert _committed(database) == []
    later = asyncio.create_task(_insert(database, 3))
    release.set()
    await asyncio.wait_for(slow_task, 10)
    assert await asyncio.wait_for(later, 10) == [1, 2, 3]


async def test_a_caller_that_stops_waiting_does_not_stop_the_commit_of_the_others(database):
    tasks = [asyncio.create_task(_insert(database, n)) for n in range(3)]
    await asyncio.sleep(0)  # one turn: all three run their transaction and wait for the commit
    assert database.conn.in_transaction and sorted(_inserted(database)) == [0, 1, 2]
    tasks[0].cancel()
    assert list(await asyncio.gather(tasks[1], tasks[2])) == [[0, 1, 2], [0, 1, 2]]
    with pytest.raises(asyncio.CancelledError):
        await tasks[0]


def _inserted(database: SqliteDatabase) -> list[int]:
    """Rows this connection sees, committed or only released inside the open batch."""
    return [n for (n,) in database.conn.execute("SELECT n FROM items")]


async def test_a_failed_commit_fails_every_transaction_of_its_batch(database):
    # A deferred foreign key is checked at COMMIT: the one way to make a commit fail on demand.
    await database.execute("CREATE TABLE tags (n INTEGER REFERENCES items (n) DEFERRABLE INITIALLY DEFERRED)")

    async def tag_missing_item() -> None:
        async with database.transaction() as tx:
            await tx.execute("INSERT INTO tags (n) VALUES ($1)", 99)

    outcomes = await asyncio.gather(_insert(database, 1), tag_missing_item(), return_exceptions=True)
    assert all(isinstance(outcome, StoreError) for outcome in outcomes), outcomes
    assert _committed(database) == []
    assert await _insert(database, 2) == [2]  # the connection is usable again


async def test_another_connections_write_lock_is_waited_out_without_blocking_the_loop(database):
    other = SqliteDatabase.open(_path(database))
    inside, release = asyncio.Event(), asyncio.Event()
    holding = asyncio.create_task(_slow_transaction(database, inside, release))
    await asyncio.wait_for(inside.wait(), 10)
    alone = asyncio.create_task(other.execute("INSERT INTO items (n) VALUES ($1)", 3))
    batched = asyncio.create_task(_insert(other, 4))
    await asyncio.sleep(0.05)  # the loop runs on while both wait (a busy wait in SQLite would stop it)
    assert not alone.done() and not batched.done()
    release.set()
    await asyncio.wait_for(asyncio.gather(holding, alone, batched), 10)
    assert _committed(database) == [1, 2, 3, 4]
    await other.close()


async def test_a_write_lock_held_too_long_is_a_clear_error(database, monkeypatch):
    monkeypatch.setattr(sqlite, "BUSY_TIMEOUT_S", 0.05)
    other = SqliteDatabase.open(_path(database))
    inside, release = asyncio.Event(), asyncio.Event()
    holding = asyncio.create_task(_slow_transaction(database, inside, release))
    await asyncio.wait_for(inside.wait(), 10)
    with pytest.raises(DatabaseUnavailable, match="write lock") as refused:
        await other.execute("INSERT INTO items (n) VALUES ($1)", 3)
    assert isinstance(refused.value.__cause__, sqlite3.OperationalError)
    release.set()
    await holding
    assert _committed(database) == [1, 2]
    await other.close()


async def test_start_up_waits_for_another_process_holding_the_write_lock(tmp_path):
    """Migrating at start-up may block: it waits for the lock rather than failing at once."""
    path = tmp_path / "service.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("PRAGMA journal_mode = WAL")
    holder.execute("BEGIN IMMEDIATE")  # another process writing
    released = threading.Timer(0.3, holder.execute, ("ROLLBACK",))
    released.start()
    try:
        database = await open_database(path)
    finally:
        released.join()
        holder.close()
    try:
        assert await database.fetch_value("SELECT version_num FROM alembic_version") == HEAD
    finally:
        await database.close()
