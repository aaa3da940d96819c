"""The service's SQLite database: opening, pragmas and numbered migrations.

Migrations are `migrations/NNNN_name.sql`, applied in order inside one transaction each; the schema
number lives in `PRAGMA user_version`. A database written by newer code is refused, not guessed at.

The service is single-process and its handlers run on one event loop, so one connection suffices;
statements are short, local and indexed.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

from mock_building.errors import StoreError

__all__ = ["MEMORY", "Store", "migrations"]

MEMORY = ":memory:"
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def migrations() -> list[tuple[int, str]]:
    """The bundled migrations as (number, SQL), numbered 1, 2, 3... without holes."""
    found = []
    for entry in resources.files("mock_building.service.migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.read_text(encoding="utf-8")))
    found.sort()
    if [number for number, _ in found] != list(range(1, len(found) + 1)):
        raise StoreError("bundled migrations are not numbered 1..N without holes")
    return found


class Store:
    """An open, migrated database."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    @classmethod
    def open(cls, path: str | Path = MEMORY) -> Store:
        try:
            conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA foreign_keys = ON")
            if str(path) != MEMORY:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")
            store = cls(conn)
            store.migrate()
        except sqlite3.Error as err:
            raise StoreError(f"cannot open database {path}: {err}") from err
        return store

    @property
    def schema_version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    def migrate(self) -> None:
        known = migrations()
        current = self.schema_version
        if current > len(known):
            raise StoreError(f"database schema {current} is newer than this code ({len(known)})")
        for number, sql in known[current:]:
            try:
                self.conn.executescript(f"BEGIN;\n{sql}\nPRAGMA user_version = {number};\nCOMMIT;")
            except sqlite3.Error as err:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise StoreError(f"migration {number} failed: {err}") from err

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()
