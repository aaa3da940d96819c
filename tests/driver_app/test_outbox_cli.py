"""`driver-app outbox list|retry|export` on a real outbox file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from driver_app.adapters.outbox_sqlite import SqliteOutbox
from driver_app.cli import main
from driver_app.core.ports import OutboxKind, OutboxOwner, OutboxState
from driver_app.paths import outbox_file

ALICE = OutboxOwner("alice", "key-a")
DELIVERY = {
    "delivery_id": "d-1",
    "stop_id": "S1",
    "package_ids": ["P1"],
    "delivered_at": "2026-11-23T12:00:00Z",
}


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    outbox = SqliteOutbox(outbox_file(tmp_path))
    outbox.put(OutboxKind.DELIVERY, "d-1", json.dumps(DELIVERY).encode(), ALICE)
    outbox.put(OutboxKind.RECEIPT, "r-1", b"\x01\x02", ALICE)
    [held, _] = outbox.items()
    outbox.hold(held.item_id, "not_on_route")
    outbox.close()
    return tmp_path


def test_list_shows_owner_state_and_reason(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["outbox", "--data-dir", str(data_dir), "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "#1 delivery d-1 driver=alice held reason=not_on_route attempts=0",
        "#2 receipt r-1 driver=alice pending attempts=0",
        "2 item(s), 1 held",
    ]


def test_export_writes_json_lines_with_payloads(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "held.jsonl"
    assert main(["outbox", "--data-dir", str(data_dir), "export", "--held", "--out", str(out)]) == 0
    [record] = [json.loads(line) for line in out.read_text().splitlines()]
    assert record["payload"] == DELIVERY and record["reason"] == "not_on_route"
    assert (record["driver_id"], record["session_key"], record["state"]) == ("alice", "key-a", "held")


def test_retry_moves_held_items_back_to_pending(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["outbox", "--data-dir", str(data_dir), "retry"]) == 0
    assert capsys.readouterr().out == "1 held item(s) back to pending\n"
    outbox = SqliteOutbox(outbox_file(data_dir))
    assert outbox.count(state=OutboxState.HELD) == 0 and outbox.size() == 2
    outbox.close()


def test_run_route_prints_what_a_temporary_outbox_still_holds(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from driver_app.runner.cli import _hand_over

    _hand_over(data_dir, temporary=True)  # run-route without --data-dir: the folder is deleted next
    err = capsys.readouterr().err.splitlines()
    assert "deleted on exit" in err[0]
    records = [json.loads(line) for line in err[1:]]
    assert [(r["key"], r["state"]) for r in records] == [("d-1", "held"), ("r-1", "pending")]
    _hand_over(data_dir, temporary=False)
    assert f"driver-app outbox list --data-dir {data_dir}" in capsys.readouterr().err
