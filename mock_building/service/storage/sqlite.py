"""The embedded backend: one SQLite file (or memory) on one connection, used from the event loop.

SQLite answers a local, indexed statement in microseconds, so statements run inline rather than on
a thread (a thread hop costs more than the statement). One connection serves the whole service:
an `asyncio.Lock` keeps every statement out of another task's open transaction, and a statement
made on the database itself while this task holds a transaction is a bug, reported as such (it
would wait for itself).
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import Any

from mock_building.errors import StoreError
from mock_building.service.storage.database import Executor, Row

__all__ = ["MEMORY", "SqliteDatabase"]

MEMORY = ":memory:"
_PARAMETER = re.compile(r"\$(\d+)")


@lru_cache(maxsize=1024)
def _sqlite_sql(sql: str) -> str:
    """`$1` -> `?1`: SQLite's own numbered parameters, so one SQL text serves both backends."""
    return _PARAMETER.sub(r"?\1", sql)


class _Statements:
    """Statements on the connection, with no locking (the caller holds the lock, or needs none)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    async def fetch_one(self, sql: str, *args: object) -> Row | None:
        row: Row | None = self._conn.execute(_sqlite_sql(sql), args).fetchone()
        return row

    async def fetch_all(self, sql: str, *args: object) -> list[Row]:
        return self._conn.execute(_sqlite_sql(sql), args).fetchall()

    async def fetch_value(self, sql: str, *args: object) -> Any:
        row = self._conn.execute(_sqlite_sql(sql), args).fetchone()
        return None if row is None else row[0]

    async def execute(self, sql: str, *args: object) -> int:
        return self._conn.execute(_sqlite_sql(sql), args).rowcount

    async def execute_many(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        self._conn.executemany(_sqlite_sql(sql), rows)


class _Transaction:
    """`BEGIN IMMEDIATE` under the lock, `COMMIT` (or `ROLLBACK` on an exception) and release.

    A plain class rather than an `asynccontextmanager`: a grant opens one per request, and the
    generator machinery cost more than the two statements it wraps.
    """

    __slots__ = ("_database", "_token")

    def __init__(self, database: SqliteDatabase) -> None:
        self._database = database

    async def __aenter__(self) -> Executor:
        database = self._database
        database._check_not_holding()
        await database._lock.acquire()
        token = database._holder.set(True)
        try:
            database.conn.execute("BEGIN IMMEDIATE")
        except BaseException:
            database._holder.reset(token)
            database._lock.release()
            raise
        self._token = token
        return database._statements

    async def __aexit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        database = self._database
        try:
            database.conn.execute("COMMIT" if exc_type is None else "ROLLBACK")
        finally:
            database._holder.reset(self._token)
            database._lock.release()


class SqliteDatabase:
    dialect = "sqlite"

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        """The raw connection, for the migration runner only."""
        self._statements = _Statements(conn)
        self._lock = asyncio.Lock()
        self._holder: ContextVar[bool] = ContextVar(f"sqlite-transaction-{id(self)}", default=False)

    @classmethod
    def open(cls, path: str | Path = MEMORY) -> SqliteDatabase:
        """Connect and set the pragmas; the schema is the migration runner's job."""
        try:
            conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA busy_timeout = 5000")
            if str(path) != MEMORY:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.Error as err:
            raise StoreError(f"cannot open database {path}: {err}") from err
        return cls(conn)

    def _check_not_holding(self) -> None:
        if self._holder.get():
            raise RuntimeError("a statement outside the open transaction: use the transaction's executor")

    async def _wait_for_transaction(self) -> None:
        """Return once no other task's transaction is open.

        A statement is synchronous: when the lock is free it runs to its end before any other task
        can begin a transaction, so it needs the lock only to wait out one that is already open.
        """
        self._check_not_holding()
        if self._lock.locked():
            async with self._lock:
                pass

    async def fetch_one(self, sql: str, *args: object) -> Row | None:
        await self._wait_for_transaction()
        return await self._statements.fetch_one(sql, *args)

    async def fetch_all(self, sql: str, *args: object) -> list[Row]:
        await self._wait_for_transaction()
        return await self._statements.fetch_all(sql, *args)

    async def fetch_value(self, sql: str, *args: object) -> Any:
        await self._wait_for_transaction()
        return await self._statements.fetch_value(sql, *args)

    async def execute(self, sql: str, *args: object) -> int:
        await self._wait_for_transaction()
        return await self._statements.execute(sql, *args)

    async def execute_many(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        await self._wait_for_transaction()
        await self._statements.execute_many(sql, rows)

    def transaction(self) -> AbstractAsyncContextManager[Executor]:
        return _Transaction(self)

    async def close(self) -> None:
        self.conn.close()
