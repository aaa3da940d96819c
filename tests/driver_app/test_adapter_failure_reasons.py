"""Adapters name the cause a driver can act on: no radio vs no door heard, read-only vs full storage."""

from __future__ import annotations

import socket
import sqlite3
from pathlib import Path

import pytest

from driver_app.adapters.outbox_sqlite import SqliteOutbox, _reason
from driver_app.core.errors import ClientReason, DoorUnreachable, WorkflowError
from driver_app.factory import build_door_link
from driver_app.settings import BleMode, Settings


async def test_a_radio_nobody_answers_at_is_radio_unavailable_not_door_not_found(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed once the block ends: nothing listens there
    settings = Settings(ble_mode=BleMode.SIM, radio_address=f"127.0.0.1:{port}", data_dir=tmp_path)
    link, _, detach = build_door_link(settings, lambda _state: None)
    try:
        with pytest.raises(DoorUnreachable) as caught:
            await link.find_doors(["ELM-N"], 0.5)
    finally:
        if detach is not None:
            await detach()
    assert caught.value.reason == ClientReason.RADIO_UNAVAILABLE


def test_a_read_only_database_is_outbox_read_only(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    SqliteOutbox(path).close()
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    with pytest.raises(sqlite3.Error) as caught:
        db.execute("CREATE TABLE x (y)")
    db.close()
    assert _reason(caught.value) is ClientReason.OUTBOX_READ_ONLY


def test_full_storage_is_outbox_full(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "tiny.sqlite3")
    db.execute("CREATE TABLE t (b BLOB)")
    db.execute("PRAGMA max_page_count = 3")  # a disk with room for three pages
    with pytest.raises(sqlite3.Error) as caught:
        db.execute("INSERT INTO t VALUES (?)", (b"x" * 100_000,))
    db.close()
    assert _reason(caught.value) is ClientReason.OUTBOX_FULL


def test_an_outbox_under_a_regular_file_is_read_only_storage_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("")
    with pytest.raises(WorkflowError) as caught:
        SqliteOutbox(tmp_path / "afile" / "outbox.sqlite3")
    assert caught.value.reason == ClientReason.OUTBOX_READ_ONLY
