"""Bring a database to this code's schema with Alembic (`migrations/versions/`), on either backend.

A database whose revision this code does not know was written by newer code: it is refused, not
guessed at. Several processes may start against one PostgreSQL at once: an advisory lock lets one
migrate while the others wait. A SQLite file from before Alembic (schema 5 in `PRAGMA user_version`)
is stamped with the baseline, which is exactly that schema.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import StaticPool

from mock_building.errors import StoreError

__all__ = ["HEAD", "MIGRATION_WAIT_S", "migrate_postgres", "migrate_sqlite"]

MIGRATION_WAIT_S = 30.0
"""How long a SQLite migration at start-up waits for another process's write lock."""

_SCRIPTS = "mock_building.service.storage:migrations"
_PRE_ALEMBIC_SCHEMA = 5
_BASELINE = "0001"
_MIGRATION_LOCK = 0x4C6F_6262_794B  # any constant shared by every LobbyKey process ("LobbyK")


def _config(connection: sa.Connection | None = None) -> Config:
    """Alembic's configuration, bound to `connection` when it is to run migrations on it."""
    config = Config()
    config.set_main_option("script_location", _SCRIPTS)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


_SCRIPT_DIRECTORY = ScriptDirectory.from_config(_config())
HEAD: str = _SCRIPT_DIRECTORY.get_current_head() or _BASELINE
"""The newest revision this code knows."""
_KNOWN = frozenset(script.revision for script in _SCRIPT_DIRECTORY.walk_revisions())


def _revision_of(connection: sa.Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _upgrade(connection: sa.Connection) -> None:
    current = _revision_of(connection)
    if current == HEAD:
        return  # the usual start-up: nothing for Alembic to load or run
    if current is not None and current not in _KNOWN:
        raise StoreError(f"database schema {current} is newer than this code (newest known: {HEAD})")
    command.upgrade(_config(connection), "head")


def migrate_sqlite(conn: sqlite3.Connection) -> None:
    """Migrate the service's own connection (a memory database has no second one).

    It runs before serving, so it may wait (up to MIGRATION_WAIT_S) for another process's write lock.
    """
    engine = sa.create_engine("sqlite://", creator=lambda: conn, poolclass=StaticPool)

    # The connection runs in autocommit mode; make each Alembic transaction a real one.
    @sa.event.listens_for(engine, "begin")
    def _begin(connection: sa.Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    legacy = int(conn.execute("PRAGMA user_version").fetchone()[0])
    conn.execute(f"PRAGMA busy_timeout = {int(MIGRATION_WAIT_S * 1000)}")
    try:
        with engine.connect() as connection:
            if legacy and _revision_of(connection) is None:
                if legacy != _PRE_ALEMBIC_SCHEMA:
                    raise StoreError(f"database schema {legacy} predates migrations this code can run")
                command.stamp(_config(connection), _BASELINE)
                connection.commit()
            _upgrade(connection)
            connection.commit()
    except sa.exc.SQLAlchemyError as err:
        raise StoreError(f"migration failed: {err}") from err
    finally:
        conn.execute("PRAGMA busy_timeout = 0")  # serving waits without blocking the loop (sqlite.py)


async def migrate_postgres(url: str) -> None:
    engine = create_async_engine(_sqlalchemy_url(url))
    try:
        async with engine.begin() as connection:
            await connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
            await connection.run_sync(_upgrade)
    except sa.exc.SQLAlchemyError as err:
        raise StoreError(f"migration failed: {err}") from err
    finally:
        await engine.dispose()


def _sqlalchemy_url(url: str) -> Any:
    return sa.make_url(url).set(drivername="postgresql+asyncpg")
