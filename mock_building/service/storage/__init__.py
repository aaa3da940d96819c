"""The access service's storage: one repository module per aggregate over one `Database` seam.

`open_database` takes a SQLite path (the embedded default) or a `postgresql://` URL (shared, for
several workers) and returns it migrated to this code's schema.
"""

from __future__ import annotations

from pathlib import Path

from mock_building.service.storage.database import Database, Executor, Row
from mock_building.service.storage.postgres import DEFAULT_POOL_SIZE, PostgresDatabase
from mock_building.service.storage.schema import migrate_postgres, migrate_sqlite
from mock_building.service.storage.sqlite import MEMORY, SqliteDatabase

__all__ = [
    "DEFAULT_POOL_SIZE",
    "MEMORY",
    "Database",
    "Executor",
    "Row",
    "SqliteDatabase",
    "is_postgres_url",
    "open_database",
]


def is_postgres_url(database: str | Path) -> bool:
    return str(database).startswith(("postgresql://", "postgres://"))


async def open_database(
    database: str | Path = MEMORY, *, migrate: bool = True, pool_size: int = DEFAULT_POOL_SIZE
) -> Database:
    """Open (and unless told otherwise, migrate) a SQLite file or memory, or a PostgreSQL URL.

    `pool_size`: the PostgreSQL connections it may hold at most (SQLite has its one connection).
    """
    if is_postgres_url(database):
        if migrate:
            await migrate_postgres(str(database))
        return await PostgresDatabase.open(str(database), pool_size=pool_size)
    sqlite = SqliteDatabase.open(database)
    if migrate:
        try:
            migrate_sqlite(sqlite.conn)
        except BaseException:
            await sqlite.close()
            raise
    return sqlite
