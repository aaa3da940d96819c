"""The shared backend: PostgreSQL through asyncpg's connection pool, so no statement blocks the loop.

Several worker processes may serve one database; each has its own pool. Whatever must hold across
workers (rate limits, idempotency keys, sessions, token reuse) is decided by the database inside a
transaction, never in process memory. Transactions run at READ COMMITTED; a repository that must
serialise decisions on one key takes that key's row lock first (see `grants.take_grant_slot`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from mock_building.errors import StoreError
from mock_building.service.storage.database import Executor, Row

__all__ = ["PostgresDatabase"]

_POOL_MAX = 20


class _Statements:
    """Statements on one pooled connection (a transaction's), or on the pool itself."""

    def __init__(self, target: asyncpg.Pool | asyncpg.Connection) -> None:
        self._target = target

    async def fetch_one(self, sql: str, *args: object) -> Row | None:
        row: Row | None = await self._target.fetchrow(sql, *args)
        return row

    async def fetch_all(self, sql: str, *args: object) -> list[Row]:
        return list(await self._target.fetch(sql, *args))

    async def fetch_value(self, sql: str, *args: object) -> Any:
        return await self._target.fetchval(sql, *args)

    async def execute(self, sql: str, *args: object) -> int:
        status: str = await self._target.execute(sql, *args)
        # "INSERT 0 1", "UPDATE 3", "DELETE 0": the count is the last word.
        last = status.rsplit(" ", 1)[-1]
        return int(last) if last.isdigit() else 0

    async def execute_many(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        await self._target.executemany(sql, list(rows))


class PostgresDatabase(_Statements):
    dialect = "postgresql"

    def __init__(self, pool: asyncpg.Pool, url: str) -> None:
        super().__init__(pool)
        self.pool = pool
        self.url = url

    @classmethod
    async def open(cls, url: str, *, pool_size: int = _POOL_MAX) -> PostgresDatabase:
        try:
            pool = await asyncpg.create_pool(url, min_size=1, max_size=pool_size, reset=_keep_session)
        except (OSError, asyncpg.PostgresError) as err:
            raise StoreError(f"cannot open database {_without_password(url)}: {err}") from err
        return cls(pool, url)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Executor]:
        async with self.pool.acquire() as conn, conn.transaction():
            yield _Statements(conn)

    async def close(self) -> None:
        await self.pool.close()


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Return a connection to the pool as it is: the service sets no session state (no SET, LISTEN or
    session lock), and asyncpg's default reset is one more round trip for every pooled statement."""


def _without_password(url: str) -> str:
    """The URL for an error message: a password never reaches a log."""
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at:
        return url
    return f"{scheme}{sep}{credentials.split(':', 1)[0]}@{host}"
