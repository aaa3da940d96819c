"""WAL checkpoints run on the checkpointer's thread, never in the event loop's commits."""

from __future__ import annotations

import asyncio
import sqlite3
import threading

from mock_building.service.storage import SqliteDatabase, checkpoints

_ROW = b"x" * 3000  # about one page each


async def _fill(database: SqliteDatabase, rows: int) -> None:
    await database.execute("CREATE TABLE IF NOT EXISTS bulk (n INTEGER PRIMARY KEY, payload BLOB)")
    for start in range(0, rows, 100):
        async with database.transaction() as tx:
            await tx.execute_many(
                "INSERT INTO bulk (n, payload) VALUES ($1, $2)",
                [(n, _ROW) for n in range(start, start + 100)],
            )


def _wal_frames(path) -> tuple[int, int]:
    """(frames in the WAL, frames already copied into the file), asked on a connection of our own."""
    with sqlite3.connect(path) as conn:
        # A PASSIVE checkpoint copies what it can, then reports (busy, frames in WAL, frames copied).
        _, frames, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return frames, copied


async def test_commits_never_checkpoint_however_large_the_wal_grows(tmp_path, monkeypatch):
    monkeypatch.setattr(checkpoints, "CHECKPOINT_EVERY_S", 3600.0)
    path = tmp_path / "quiet.sqlite3"
    database = SqliteDatabase.open(path)
    try:
        await _fill(database, 3000)  # three times SQLite's own 1,000-page trigger
        frames, _ = _wal_frames(path)
        assert frames >= 3000  # never restarted: no commit checkpointed it
    finally:
        await database.close()


async def test_the_checkpointer_thread_copies_the_wal_into_the_file_while_the_loop_goes_on(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(checkpoints, "CHECKPOINT_EVERY_S", 0.05)
    path = tmp_path / "busy.sqlite3"
    database = SqliteDatabase.open(path)
    try:
        size_before = path.stat().st_size
        await _fill(database, 1500)
        for _ in range(100):  # the loop is free meanwhile: these sleeps are its turns
            await asyncio.sleep(0.05)
            if path.stat().st_size > size_before + 1500 * 3000:
                break
        assert path.stat().st_size > size_before + 1500 * 3000  # the rows reached the file itself
        assert await database.fetch_value("SELECT COUNT(*) FROM bulk") == 1500
    finally:
        await database.close()


async def test_closing_stops_the_checkpointer_thread(tmp_path):
    database = SqliteDatabase.open(tmp_path / "closed.sqlite3")
    assert any(t.name.startswith("sqlite-checkpoints") for t in threading.enumerate())
    await database.close()
    assert not any(t.name.startswith("sqlite-checkpoints") for t in threading.enumerate())
    assert not (tmp_path / "closed.sqlite3-wal").exists()  # the last connection checkpointed the rest


async def test_an_in_memory_database_has_no_checkpointer(tmp_path):
    database = SqliteDatabase.open()
    assert not any(t.name.startswith("sqlite-checkpoints") for t in threading.enumerate())
    await database.close()
