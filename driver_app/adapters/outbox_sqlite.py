"""The durable outbox: one SQLite file in the user data directory.

WAL with synchronous=FULL makes `put` durable when it returns, so killing the app at any point loses
nothing that the workflow has been told is queued. A unique (kind, key) makes re-queuing harmless.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

from driver_app.core.errors import ClientReason, WorkflowError
from driver_app.core.ports import OutboxItem

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    item_id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind    TEXT NOT NULL,
    key     TEXT NOT NULL,
    payload BLOB NOT NULL,
    UNIQUE (kind, key)
)
"""


class SqliteOutbox:
    """Implements `driver_app.core.ports.Outbox`; one connection, used from the event loop thread."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(path, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute(_SCHEMA)
        except sqlite3.Error as err:
            raise WorkflowError(ClientReason.OUTBOX_FAILED, f"cannot open {path}: {err}") from err

    def put(self, kind: str, key: str, payload: bytes) -> None:
        self._run(
            "INSERT OR IGNORE INTO outbox (kind, key, payload) VALUES (?, ?, ?)",
            (str(kind), key, payload),
        )

    def pending(self, limit: int = 100) -> list[OutboxItem]:
        rows = self._run(
            "SELECT item_id, kind, key, payload FROM outbox ORDER BY item_id LIMIT ?", (limit,)
        )
        return [OutboxItem(item_id, kind, key, bytes(payload)) for item_id, kind, key, payload in rows]

    def mark_sent(self, item_ids: Sequence[int]) -> None:
        if item_ids:
            marks = ",".join("?" * len(item_ids))
            # only "?" placeholders are formatted in; the ids travel as parameters
            self._run(f"DELETE FROM outbox WHERE item_id IN ({marks})", tuple(item_ids))  # noqa: S608

    def size(self) -> int:
        return int(self._run("SELECT COUNT(*) FROM outbox", ())[0][0])

    def close(self) -> None:
        self._db.close()

    def _run(self, sql: str, params: tuple[object, ...]) -> list[tuple]:
        try:
            return self._db.execute(sql, params).fetchall()
        except sqlite3.Error as err:
            raise WorkflowError(ClientReason.OUTBOX_FAILED, str(err)) from err
