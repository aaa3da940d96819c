"""The embedded backend: one SQLite file (or memory) on one connection, used from the event loop.

SQLite answers a local, indexed statement in microseconds, so statements run inline rather than on
a thread (a thread hop costs more than the statement). One connection serves the whole service:
an `asyncio.Lock` keeps every statement out of another task's open transaction, and a statement
made on the database itself while this task holds a transaction is a bug, reported as such (it
would wait for itself).

Group commit: a `COMMIT` costs more than the statements of a grant (the WAL frames of every page
touched), so the transactions opened in one turn of the event loop share one. Each is a savepoint
inside the batch, released or rolled back on its own; the batch commits at the next turn (or when
it is full), and each transaction's `async with` returns only once that commit is done, so no
caller answers for a change that is not yet committed. A statement outside a transaction runs in
the open batch: it sees the batch's released transactions, and if it changed rows it too returns
only after the commit. A commit never checkpoints the WAL: a thread does (`checkpoints.py`).
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from mock_building.errors import DatabaseUnavailable, StoreError
from mock_building.service.storage import checkpoints
from mock_building.service.storage.database import Executor, Row

__all__ = ["MEMORY", "SqliteDatabase"]

MEMORY = ":memory:"
_PARAMETER = re.compile(r"\$(\d+)")


@lru_cache(maxsize=1024)
def _sqlite_sql(sql: str) -> str:
    """`$1` -> `?1`: SQLite's own numbered parameters, so one SQL text serves both backends."""
    return _PARAMETER.sub(r"?\1", sql)


# The statements themselves, shared by a transaction's executor and the database's own methods.
def _one(conn: sqlite3.Connection, sql: str, args: Sequence[object]) -> Row | None:
    row: Row | None = conn.execute(_sqlite_sql(sql), args).fetchone()
    return row


def _all(conn: sqlite3.Connection, sql: str, args: Sequence[object]) -> list[Row]:
    return conn.execute(_sqlite_sql(sql), args).fetchall()


def _value(conn: sqlite3.Connection, sql: str, args: Sequence[object]) -> Any:
    row = _one(conn, sql, args)
    return None if row is None else row[0]


def _count(conn: sqlite3.Connection, sql: str, args: Sequence[object]) -> int:
    return conn.execute(_sqlite_sql(sql), args).rowcount


def _many(conn: sqlite3.Connection, sql: str, rows: Iterable[Sequence[object]]) -> None:
    conn.executemany(_sqlite_sql(sql), rows)


class _Statements:
    """Statements inside the open batch, under the lock the transaction holds."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    async def fetch_one(self, sql: str, *args: object) -> Row | None:
        return _one(self._conn, sql, args)

    async def fetch_all(self, sql: str, *args: object) -> list[Row]:
        return _all(self._conn, sql, args)

    async def fetch_value(self, sql: str, *args: object) -> Any:
        return _value(self._conn, sql, args)

    async def execute(self, sql: str, *args: object) -> int:
        return _count(self._conn, sql, args)

    async def execute_many(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        _many(self._conn, sql, rows)


MAX_BATCH = 256
"""Transactions in one commit at most, so a burst's first caller does not wait for its last."""
BUSY_TIMEOUT_S = 5.0
"""How long a statement waits for another connection's write lock (another process on the file)."""
_BUSY_RETRY_S = 0.001
_T = TypeVar("_T")
_A = TypeVar("_A")


class _Patience:
    """Waits out another connection's write lock, BUSY_TIMEOUT_S at most in all (then the database is
    unavailable); other errors raise."""

    __slots__ = ("_deadline",)

    def __init__(self) -> None:
        self._deadline: float | None = None

    async def wait(self, err: sqlite3.OperationalError) -> None:
        now = asyncio.get_running_loop().time()
        if self._deadline is None:
            self._deadline = now + BUSY_TIMEOUT_S
        if err.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:
            raise err
        if now > self._deadline:
            raise DatabaseUnavailable(
                f"another process has held the database's write lock for over {BUSY_TIMEOUT_S:g} s"
            ) from err
        await asyncio.sleep(_BUSY_RETRY_S)


class _Batch:
    """The open outer transaction, and the one commit its transactions wait for."""

    __slots__ = ("committed", "due", "units")

    def __init__(self) -> None:
        self.committed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.units = 0
        self.due = False
        """Its turn came while a transaction was still open: that transaction commits it when it ends."""


class _Transaction:
    """One savepoint of the open batch, under the lock; once released, it waits for the batch's commit.

    A plain class rather than an `asynccontextmanager`: a grant opens one per request, and the
    generator machinery cost more than the statements it wraps.
    """

    __slots__ = ("_batch", "_database", "_token")

    def __init__(self, database: SqliteDatabase) -> None:
        self._database = database

    async def __aenter__(self) -> Executor:
        database = self._database
        database._check_not_holding()
        await database._lock.acquire()
        token = database._holder.set(True)
        try:
            self._batch = await database._open_batch()
            database.conn.execute("SAVEPOINT unit")
        except BaseException:
            database._holder.reset(token)
            database._lock.release()
            raise
        self._token = token
        return database._statements

    async def __aexit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        database, batch = self._database, self._batch
        try:
            if exc_type is None:
                database.conn.execute("RELEASE unit")
                batch.units += 1
            else:
                database.conn.execute("ROLLBACK TO unit")
                database.conn.execute("RELEASE unit")
        finally:
            database._holder.reset(self._token)
            if batch.due or batch.units >= MAX_BATCH:
                database._commit()
            database._lock.release()
        if exc_type is None:
            # Shielded: a caller that gives up waiting must not cancel the commit for the others.
            await asyncio.shield(batch.committed)


class SqliteDatabase:
    dialect = "sqlite"

    def __init__(
        self, conn: sqlite3.Connection, checkpointer: checkpoints.Checkpointer | None = None
    ) -> None:
        self.conn = conn
        """The raw connection, for the migration runner only."""
        self._checkpointer = checkpointer
        self._statements = _Statements(conn)
        self._lock = asyncio.Lock()
        self._batch: _Batch | None = None
        self._holder: ContextVar[bool] = ContextVar(f"sqlite-transaction-{id(self)}", default=False)

    @classmethod
    def open(cls, path: str | Path = MEMORY) -> SqliteDatabase:
        """Connect and set the pragmas; the schema is the migration runner's job."""
        try:
            conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA foreign_keys = ON")
            # No busy wait inside SQLite: it would block the event loop, and with it the very batch
            # another handle in this process waits for. Waits are asynchronous (BUSY_TIMEOUT_S).
            conn.execute("PRAGMA busy_timeout = 0")
            if str(path) == MEMORY:
                return cls(conn)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA wal_autocheckpoint = 0")  # the checkpointer thread does it (checkpoints.py)
            return cls(conn, checkpoints.Checkpointer(path, checkpoints.CHECKPOINT_EVERY_S))
        except sqlite3.Error as err:
            raise StoreError(f"cannot open database {path}: {err}") from err

    def _check_not_holding(self) -> None:
        if self._holder.get():
            raise RuntimeError("a statement outside the open transaction: use the transaction's executor")

    async def _open_batch(self) -> _Batch:
        """The open batch; if none is, one begins, to commit at the next turn of the event loop."""
        if self._batch is None:
            patience = _Patience()
            while True:
                try:
                    self.conn.execute("BEGIN IMMEDIATE")
                    break
                except sqlite3.OperationalError as err:
                    await patience.wait(err)
            self._batch = _Batch()
            asyncio.get_running_loop().call_soon(self._commit_turn)
        return self._batch

    def _commit_turn(self) -> None:
        if self._batch is None:
            return
        if self._lock.locked():  # a transaction awaited something slow: it commits when it ends
            self._batch.due = True
        else:
            self._commit()

    def _commit(self) -> None:
        batch, self._batch = self._batch, None
        if batch is None:
            return
        try:
            if not self.conn.in_transaction:  # SQLite rolled the batch back itself (an I/O error)
                raise sqlite3.OperationalError("the batch was rolled back")
            self.conn.execute("COMMIT")
        except sqlite3.Error as err:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            batch.committed.set_exception(StoreError(f"commit failed: {err}"))
            batch.committed.exception()  # retrieved: a batch that only rolled back has no waiter
        else:
            batch.committed.set_result(None)

    async def _standalone(self, run: Callable[[sqlite3.Connection, str, _A], _T], sql: str, args: _A) -> _T:
        """A statement outside any transaction of this task, run once no other task's is open.

        A statement is synchronous: when the lock is free it runs to its end before any other task
        can begin a transaction, so it needs the lock only to wait out one that is already open.
        It runs in the open batch if there is one; if it changed rows, it returns once that commits.
        """
        self._check_not_holding()
        patience = _Patience()
        while True:
            if self._lock.locked():
                async with self._lock:
                    pass
            batch, changes = self._batch, self.conn.total_changes
            try:
                result = run(self.conn, sql, args)
            except sqlite3.OperationalError as err:
                await patience.wait(err)
                continue
            if batch is not None and self.conn.total_changes != changes:
                await asyncio.shield(batch.committed)
            return result

    async def fetch_one(self, sql: str, *args: object) -> Row | None:
        return await self._standalone(_one, sql, args)

    async def fetch_all(self, sql: str, *args: object) -> list[Row]:
        return await self._standalone(_all, sql, args)

    async def fetch_value(self, sql: str, *args: object) -> Any:
        return await self._standalone(_value, sql, args)

    async def execute(self, sql: str, *args: object) -> int:
        return await self._standalone(_count, sql, args)

    async def execute_many(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        await self._standalone(_many, sql, list(rows))  # a list: a retry must see every row

    def transaction(self) -> AbstractAsyncContextManager[Executor]:
        return _Transaction(self)

    def lease(self) -> AbstractAsyncContextManager[None]:
        return nullcontext()  # one connection already

    async def close(self) -> None:
        self._commit()
        if self._checkpointer is not None:
            self._checkpointer.stop()
        self.conn.close()
