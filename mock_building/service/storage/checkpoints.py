"""WAL checkpoints of a SQLite file on a thread of their own, not inside the event loop's commits.

By default SQLite checkpoints in the COMMIT that takes the WAL past 1,000 pages: it copies them into
the database file and syncs it, and the event loop (one connection serves the whole service)
stands still meanwhile. At 200 concurrent grants about 3.5 commits a second did, taking 7 ms each
and up to 51 ms; at one request at a time they were the whole tail (p99 4.4 ms against a 0.55 ms
median; 0.8 ms without them, bench/grant_load.py). So the serving connection never checkpoints
(`wal_autocheckpoint = 0`) and a `Checkpointer` thread, on a connection of its own, runs a PASSIVE
checkpoint every `CHECKPOINT_EVERY_S`: PASSIVE never waits for the writer, and sqlite3 lets go of
the GIL while SQLite copies, so requests go on being served. Durability is unchanged: a commit is
in the WAL either way, and a checkpoint syncs the file before the WAL is reused.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

__all__ = ["CHECKPOINT_EVERY_S", "Checkpointer"]

logger = logging.getLogger(__name__)

CHECKPOINT_EVERY_S = 0.5
"""At 3,000 grants a second, ~1,000 WAL pages: the WAL stays about as large as SQLite would keep it."""


class Checkpointer:
    """Checkpoints `path`'s WAL every `every_s` seconds until `stop()`."""

    def __init__(self, path: str | Path, every_s: float) -> None:
        self._conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._every_s = every_s
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"sqlite-checkpoints {path}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stopping.wait(self._every_s):
                try:
                    self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error as err:  # e.g. the disk is full: the next turn tries again
                    logger.warning("WAL checkpoint failed: %s", err)
        finally:
            self._conn.close()

    def stop(self) -> None:
        """Stop after the checkpoint under way, if any (the last connection's close checkpoints the rest)."""
        self._stopping.set()
        self._thread.join()
