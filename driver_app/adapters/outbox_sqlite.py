"""The durable outbox: one SQLite file in the user data directory.

WAL with synchronous=FULL makes `put` durable when it returns, so killing the app at any point loses
nothing that the workflow has been told is queued. A unique (kind, key) makes re-queuing harmless.
Each item records its owner (driver, handheld key) and is offered only to that driver; an item the
service refused is held with the reason, never deleted (see `driver-app outbox`).

Schema versions live in `PRAGMA user_version`: 0 = the first file (no owners, no states); files
written by older versions are upgraded in place, their items keeping no owner (the next driver to
sign in sends them, as those versions did).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from driver_app.core.errors import ClientReason, WorkflowError
from driver_app.core.ports import OutboxItem, OutboxOwner, OutboxState

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    item_id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind    TEXT NOT NULL,
    key     TEXT NOT NULL,
    payload BLOB NOT NULL,
    UNIQUE (kind, key)
)
"""
_UPGRADES = (
    "ALTER TABLE outbox ADD COLUMN driver_id TEXT",
    "ALTER TABLE outbox ADD COLUMN session_key TEXT",
    "ALTER TABLE outbox ADD COLUMN state TEXT NOT NULL DEFAULT 'pending'",
    "ALTER TABLE outbox ADD COLUMN reason TEXT",
    "ALTER TABLE outbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0",
    "CREATE INDEX outbox_by_owner ON outbox (state, driver_id, session_key, attempts, item_id)",
)
_VERSION = 1
_COLUMNS = "item_id, kind, key, payload, driver_id, session_key, state, reason, attempts"


def _item(row: tuple[Any, ...]) -> OutboxItem:
    item_id, kind, key, payload, driver_id, session_key, state, reason, attempts = row
    owner = OutboxOwner(driver_id, session_key) if driver_id is not None else None
    return OutboxItem(item_id, kind, key, bytes(payload), owner, state, reason, attempts)


class SqliteOutbox:
    """Implements `driver_app.core.ports.Outbox`; one connection, used from the event loop thread."""

    def __init__(self, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise WorkflowError(ClientReason.OUTBOX_READ_ONLY, f"cannot create {path.parent}: {err}") from err
        try:
            self._db = sqlite3.connect(path, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute(_SCHEMA)
            self._upgrade()
        except sqlite3.Error as err:
            raise WorkflowError(_reason(err), f"cannot open {path}: {err}") from err

    def _upgrade(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > _VERSION:
            raise sqlite3.DatabaseError(f"outbox schema {version} is newer than this app ({_VERSION})")
        if version < _VERSION:
            self._db.executescript(
                "BEGIN;\n" + ";\n".join(_UPGRADES) + f";\nPRAGMA user_version = {_VERSION};\nCOMMIT;"
            )

    def put(self, kind: str, key: str, payload: bytes, owner: OutboxOwner) -> None:
        self._run(
            "INSERT OR IGNORE INTO outbox (kind, key, payload, driver_id, session_key)"
            " VALUES (?, ?, ?, ?, ?)",
            (str(kind), key, payload, owner.driver_id, owner.session_key),
        )

    def pending(self, owner: OutboxOwner, limit: int = 100) -> list[OutboxItem]:
        rows = self._run(
            # only constants and "?" placeholders are formatted into this SQL; values are parameters
            f"SELECT {_COLUMNS} FROM outbox WHERE state = ?"  # noqa: S608
            " AND (driver_id = ? OR driver_id IS NULL) ORDER BY attempts, item_id LIMIT ?",
            (OutboxState.PENDING.value, owner.driver_id, limit),
        )
        return [_item(row) for row in rows]

    def mark_sent(self, item_ids: Sequence[int]) -> None:
        if item_ids:
            marks = ",".join("?" * len(item_ids))
            # only "?" placeholders are formatted in; the ids travel as parameters
            self._run(f"DELETE FROM outbox WHERE item_id IN ({marks})", tuple(item_ids))  # noqa: S608

    def hold(self, item_id: int, reason: str) -> None:
        self._run(
            "UPDATE outbox SET state = ?, reason = ? WHERE item_id = ?",
            (OutboxState.HELD.value, reason, item_id),
        )

    def defer(self, item_id: int, reason: str) -> None:
        self._run(
            "UPDATE outbox SET attempts = attempts + 1, reason = ? WHERE item_id = ?", (reason, item_id)
        )

    def release(self, item_ids: Sequence[int] | None = None) -> int:
        params: tuple[int, ...]
        which, params = "", ()
        if item_ids is not None:
            if not item_ids:
                return 0
            which, params = f" AND item_id IN ({','.join('?' * len(item_ids))})", tuple(item_ids)
        before = self.count(state=OutboxState.HELD)
        self._run(
            # only constants and "?" placeholders are formatted into this SQL; values are parameters
            f"UPDATE outbox SET state = ?, attempts = 0 WHERE state = ?{which}",  # noqa: S608
            (OutboxState.PENDING.value, OutboxState.HELD.value, *params),
        )
        return before - self.count(state=OutboxState.HELD)

    def items(self, state: str | None = None) -> list[OutboxItem]:
        where, params = ("WHERE state = ?", (str(state),)) if state is not None else ("", ())
        # only constants and "?" placeholders are formatted into this SQL; values are parameters
        rows = self._run(f"SELECT {_COLUMNS} FROM outbox {where} ORDER BY item_id", params)  # noqa: S608
        return [_item(row) for row in rows]

    def count(self, *, state: str | None = None, owner: OutboxOwner | None = None) -> int:
        clauses, params = ["1"], []
        if state is not None:
            clauses.append("state = ?")
            params.append(str(state))
        if owner is not None:
            clauses.append("driver_id = ?")
            params.append(owner.driver_id)
        # only constants and "?" placeholders are formatted into this SQL; values are parameters
        rows = self._run(f"SELECT COUNT(*) FROM outbox WHERE {' AND '.join(clauses)}", tuple(params))  # noqa: S608
        return int(rows[0][0])

    def size(self) -> int:
        return self.count()

    def close(self) -> None:
        self._db.close()

    def _run(self, sql: str, params: tuple[object, ...]) -> list[tuple[Any, ...]]:
        try:
            return self._db.execute(sql, params).fetchall()
        except sqlite3.Error as err:
            raise WorkflowError(_reason(err), str(err)) from err


def _reason(err: sqlite3.Error) -> ClientReason:
    """Read-only and full storage need different fixes from the driver, so they get their own codes."""
    code = getattr(err, "sqlite_errorcode", 0) & 0xFF  # primary result code
    if code in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM, sqlite3.SQLITE_CANTOPEN):
        return ClientReason.OUTBOX_READ_ONLY
    if code == sqlite3.SQLITE_FULL:
        return ClientReason.OUTBOX_FULL
    return ClientReason.OUTBOX_FAILED
