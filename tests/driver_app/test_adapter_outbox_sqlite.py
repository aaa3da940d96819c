"""The SQLite outbox on a real file: durable, ordered, idempotent on (kind, key)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from driver_app.adapters.outbox_sqlite import SqliteOutbox
from driver_app.core.errors import WorkflowError


def test_items_survive_reopening_and_come_back_in_order(tmp_path: Path) -> None:
    path = tmp_path / "data" / "outbox.sqlite3"
    first = SqliteOutbox(path)
    first.put("receipt", "r1", b"\x00one")
    first.put("delivery", "d1", b'{"x": 1}')
    first.close()

    again = SqliteOutbox(path)
    items = again.pending()
    assert [(i.kind, i.key, i.payload) for i in items] == [
        ("receipt", "r1", b"\x00one"),
        ("delivery", "d1", b'{"x": 1}'),
    ]
    assert again.size() == 2


def test_requeuing_the_same_key_is_a_no_op(tmp_path: Path) -> None:
    outbox = SqliteOutbox(tmp_path / "o.db")
    outbox.put("receipt", "same", b"a")
    outbox.put("receipt", "same", b"a")
    outbox.put("delivery", "same", b"b")
    assert outbox.size() == 2


def test_mark_sent_removes_only_the_given_items(tmp_path: Path) -> None:
    outbox = SqliteOutbox(tmp_path / "o.db")
    for n in range(5):
        outbox.put("receipt", f"k{n}", bytes([n]))
    items = outbox.pending(limit=3)
    assert len(items) == 3
    outbox.mark_sent([items[0].item_id, items[2].item_id])
    outbox.mark_sent([])
    assert [i.key for i in outbox.pending()] == ["k1", "k3", "k4"]


def test_journal_is_wal_and_writes_are_fully_synchronous(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    outbox = SqliteOutbox(path)
    assert outbox._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert outbox._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_a_committed_put_is_visible_to_another_connection_at_once(tmp_path: Path) -> None:
    """What a killed process leaves behind: another process sees every returned `put`."""
    path = tmp_path / "o.db"
    SqliteOutbox(path).put("receipt", "k", b"payload")  # never closed, like a killed app
    other = sqlite3.connect(path)
    assert other.execute("SELECT key, payload FROM outbox").fetchall() == [("k", b"payload")]


def test_an_unusable_file_is_a_workflow_error_with_a_reason(tmp_path: Path) -> None:
    (tmp_path / "not-a-db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(WorkflowError) as caught:
        SqliteOutbox(tmp_path / "not-a-db")
    assert caught.value.reason == "outbox_failed"
