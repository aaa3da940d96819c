"""The SQLite outbox on a real file: durable, ordered, idempotent on (kind, key)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from driver_app.adapters.outbox_sqlite import SqliteOutbox
from driver_app.core.errors import WorkflowError
from driver_app.core.ports import OutboxOwner, OutboxState

ALICE = OutboxOwner("alice", "key-a")
BOB = OutboxOwner("bob", "key-b")


def test_items_survive_reopening_and_come_back_in_order(tmp_path: Path) -> None:
    path = tmp_path / "data" / "outbox.sqlite3"
    first = SqliteOutbox(path)
    first.put("receipt", "r1", b"\x00one", ALICE)
    first.put("delivery", "d1", b'{"x": 1}', ALICE)
    first.close()

    again = SqliteOutbox(path)
    items = again.pending(ALICE)
    assert [(i.kind, i.key, i.payload) for i in items] == [
        ("receipt", "r1", b"\x00one"),
        ("delivery", "d1", b'{"x": 1}'),
    ]
    assert again.size() == 2


def test_requeuing_the_same_key_is_a_no_op(tmp_path: Path) -> None:
    outbox = SqliteOutbox(tmp_path / "o.db")
    outbox.put("receipt", "same", b"a", ALICE)
    outbox.put("receipt", "same", b"a", ALICE)
    outbox.put("delivery", "same", b"b", ALICE)
    assert outbox.size() == 2


def test_mark_sent_removes_only_the_given_items(tmp_path: Path) -> None:
    outbox = SqliteOutbox(tmp_path / "o.db")
    for n in range(5):
        outbox.put("receipt", f"k{n}", bytes([n]), ALICE)
    items = outbox.pending(ALICE, limit=3)
    assert len(items) == 3
    outbox.mark_sent([items[0].item_id, items[2].item_id])
    outbox.mark_sent([])
    assert [i.key for i in outbox.pending(ALICE)] == ["k1", "k3", "k4"]


def test_journal_is_wal_and_writes_are_fully_synchronous(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    outbox = SqliteOutbox(path)
    assert outbox._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert outbox._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_a_committed_put_is_visible_to_another_connection_at_once(tmp_path: Path) -> None:
    """What a killed process leaves behind: another process sees every returned `put`."""
    path = tmp_path / "o.db"
    SqliteOutbox(path).put("receipt", "k", b"payload", ALICE)  # never closed, like a killed app
    other = sqlite3.connect(path)
    assert other.execute("SELECT key, payload FROM outbox").fetchall() == [("k", b"payload")]


def test_an_unusable_file_is_a_workflow_error_with_a_reason(tmp_path: Path) -> None:
    (tmp_path / "not-a-db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(WorkflowError) as caught:
        SqliteOutbox(tmp_path / "not-a-db")
    assert caught.value.reason == "outbox_failed"


def test_items_are_offered_only_to_the_owner_that_queued_them(tmp_path: Path) -> None:
    outbox = SqliteOutbox(tmp_path / "o.db")
    outbox.put("delivery", "a1", b"A", ALICE)
    outbox.put("delivery", "b1", b"B", BOB)
    assert [i.key for i in outbox.pending(BOB)] == ["b1"]
    assert [(i.key, i.owner) for i in outbox.pending(ALICE)] == [("a1", ALICE)]
    # alice again after a restart with memory-only credentials (a new handheld key): still hers
    assert [i.key for i in outbox.pending(OutboxOwner("alice", "another-handheld-key"))] == ["a1"]
    assert outbox.count(owner=ALICE) == outbox.count(owner=BOB) == 1 and outbox.size() == 2


def test_held_items_stay_visible_until_released_and_deferred_ones_go_last(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    outbox = SqliteOutbox(path)
    for key in ("d1", "d2", "d3"):
        outbox.put("delivery", key, key.encode(), ALICE)
    first, second, _ = outbox.pending(ALICE)
    outbox.hold(first.item_id, "not_on_route")
    outbox.defer(second.item_id, "internal_error")
    assert [i.key for i in outbox.pending(ALICE)] == ["d3", "d2"]  # the failing one waits behind
    outbox.close()
    again = SqliteOutbox(path)  # held survives a restart, with its reason
    [held] = again.items(OutboxState.HELD)
    assert (held.key, held.state, held.reason, held.payload) == ("d1", "held", "not_on_route", b"d1")
    assert again.size() == 3 and again.count(state=OutboxState.HELD) == 1
    assert again.release([held.item_id]) == 1
    assert again.count(state=OutboxState.HELD) == 0
    assert [i.key for i in again.pending(ALICE)] == ["d1", "d3", "d2"]


def test_a_file_from_the_first_version_is_upgraded_and_its_items_kept(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.execute(
        "CREATE TABLE outbox (item_id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL,"
        " key TEXT NOT NULL,"
        " payload BLOB NOT NULL, UNIQUE (kind, key))"
    )
    old.execute("INSERT INTO outbox (kind, key, payload) VALUES ('delivery', 'legacy', x'00')")
    old.commit()
    old.close()
    outbox = SqliteOutbox(path)
    [item] = outbox.pending(BOB)  # no owner was recorded: the next driver sends it, as before
    assert (item.key, item.owner, item.state) == ("legacy", None, "pending")
