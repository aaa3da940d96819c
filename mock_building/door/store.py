"""A door's durable memory: used grant ids, the receipt log and its sequence counter.

SQLite with `synchronous=FULL`: a grant is marked used and its receipt appended in one
transaction that is on disk before the door reports a result or moves the bolt, so a power
cut can never let one grant open the door twice. The store implements the protocol's
`ReplayCache` port (`seen` / `remember`); `remember` only stages the grant id, and
`append_receipt` commits it together with the receipt.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from mock_building.door.errors import DoorError, DoorErrorReason

__all__ = ["DoorStore", "StoredReceipt"]

DB_NAME = "door.sqlite3"

_SCHEMA = """
BEGIN;
CREATE TABLE IF NOT EXISTS used_grants (
    grant_id BLOB PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS receipts (
    seq INTEGER PRIMARY KEY,
    body BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS upkeep (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS revoked (
    kind TEXT NOT NULL, id BLOB NOT NULL, until INTEGER, PRIMARY KEY (kind, id)
);
CREATE TABLE IF NOT EXISTS trust (
    kid BLOB PRIMARY KEY, issuer TEXT NOT NULL, public_key BLOB NOT NULL, retired INTEGER NOT NULL
);
COMMIT;
"""
"""Receipts and used grants, and the maintenance state beside them (`door.maintenance`): one
transaction, so creating a new door's file costs one fsync."""

_SQLITE_INT_MAX = 2**63 - 1

StoredReceipt = tuple[int, bytes]
"""(sequence number, encoded signed receipt)."""


class DoorStore:
    """One door's state directory."""

    def __init__(self, state_dir: Path) -> None:
        try:
            state_dir.mkdir(parents=True, exist_ok=True)
            # Opened in a worker thread (a city opens a thousand stores at once, each creation
            # fsyncs), then used only on the event loop's thread: never by two threads at a time.
            self._db = sqlite3.connect(
                state_dir / DB_NAME, isolation_level="DEFERRED", check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as err:
            raise DoorError(
                DoorErrorReason.STATE_DIR_UNUSABLE, f"cannot open door state in {state_dir}: {err}"
            ) from err

    # -- protocol.ReplayCache -------------------------------------------------------------
    def seen(self, grant_id: bytes) -> bool:
        row = self._db.execute("SELECT 1 FROM used_grants WHERE grant_id = ?", (grant_id,)).fetchone()
        return row is not None

    def remember(self, grant_id: bytes, expires_at: int) -> None:
        """Stage `grant_id` as used; durable with the next `append_receipt`."""
        self._db.execute(
            "INSERT OR IGNORE INTO used_grants (grant_id, expires_at) VALUES (?, ?)",
            (grant_id, int(expires_at)),
        )

    # -- receipt log ----------------------------------------------------------------------
    def last_receipt(self) -> StoredReceipt | None:
        """The newest receipt (the chain continues from it), or None for a new door."""
        row = self._db.execute("SELECT seq, body FROM receipts ORDER BY seq DESC LIMIT 1").fetchone()
        return None if row is None else (int(row[0]), bytes(row[1]))

    def append_receipt(self, seq: int, body: bytes) -> None:
        """Append a receipt and commit it with any staged grant ids, synchronously to disk."""
        try:
            self._db.execute("INSERT INTO receipts (seq, body) VALUES (?, ?)", (seq, body))
            self._db.commit()
        except sqlite3.IntegrityError as err:
            self._db.rollback()
            raise DoorError(DoorErrorReason.STATE_CORRUPT, f"receipt {seq} already exists") from err

    def discard_staged(self) -> None:
        """Forget grant ids staged by a decision that produced no receipt."""
        self._db.rollback()

    def receipts(self, from_seq: int = 0, limit: int = 100) -> list[StoredReceipt]:
        """Receipts with sequence number >= `from_seq`, oldest first."""
        # SQLite integers are signed 64-bit: a peer's seq beyond that simply finds nothing.
        if from_seq > _SQLITE_INT_MAX:
            return []
        rows = self._db.execute(
            "SELECT seq, body FROM receipts WHERE seq >= ? ORDER BY seq LIMIT ?", (max(from_seq, 0), limit)
        ).fetchall()
        return [(int(seq), bytes(body)) for seq, body in rows]

    def prune_receipts(self, through_seq: int) -> None:
        """Staged: drop receipts the service acknowledged (committed with the ack's own receipt)."""
        self._db.execute("DELETE FROM receipts WHERE seq <= ?", (through_seq,))

    @property
    def connection(self) -> sqlite3.Connection:
        """For state kept beside the receipts and committed with them (door.maintenance)."""
        return self._db

    def purge_grants(self, now: int) -> int:
        """Drop used grant ids past their expiry (which includes the leeway): they fail as expired."""
        cursor = self._db.execute("DELETE FROM used_grants WHERE expires_at < ?", (now,))
        self._db.commit()
        return cursor.rowcount

    def close(self) -> None:
        self._db.rollback()
        self._db.close()
