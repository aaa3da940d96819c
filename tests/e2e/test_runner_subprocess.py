"""`driver-app run-route` as a process against `mock-building up` as a process: defaults and crash safety.

Nothing is shared but the wire: the runner finds labels through the building's mock-only
`GET /v1/dev/labels`, and a SIGKILL mid-route must lose no door receipt and no delivery,
because both survive in the handheld's outbox (same data dir) until the next run syncs them.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from mock_building.scenario.loader import default_scenario_path, load_scenario
from tests.building_process import CHILD_ENV, REPO, building_up

pytestmark = pytest.mark.timeout(180)

DEMO_ROUTE = [s for r in load_scenario(default_scenario_path()).routes if r.driver == "demo" for s in r.stops]
DEMO_STOPS = [s.id for s in DEMO_ROUTE]
DEMO_PACKAGES = sum(len(s.packages) for s in DEMO_ROUTE)


def run_route(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "driver_app.cli", "run-route", *args],
        cwd=REPO,
        env=CHILD_ENV,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_run_route_needs_no_labels_folder(tmp_path: Path) -> None:
    with building_up(tmp_path / "building") as building:
        done = run_route("--access-url", building.url, "--radio", building.radio)
        assert sorted(
            p.name for p in building.labels.iterdir()
        )  # `up` rendered them (now or in the background)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{DEMO_PACKAGES}/{DEMO_PACKAGES} expectations met, 0 skipped" in done.stdout
    assert done.stdout.startswith("run-route: fetching labels from ")  # progress from the first second


def test_a_building_without_labels_is_a_setup_error(tmp_path: Path) -> None:
    done = run_route("--access-url", "http://127.0.0.1:9", "--radio", "127.0.0.1:9")
    assert done.returncode == 2
    assert "reason labels_unavailable" in done.stderr


def test_sigkill_mid_route_loses_no_receipt_and_no_delivery(tmp_path: Path) -> None:
    app_dir = tmp_path / "app"
    with building_up(tmp_path / "building") as building:
        args = ["--access-url", building.url, "--radio", building.radio, "--data-dir", str(app_dir)]
        first = subprocess.Popen(
            [sys.executable, "-m", "driver_app.cli", "run-route", *args],
            cwd=REPO,
            env=CHILD_ENV,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert first.stdout is not None
        try:
            while not (line := first.stdout.readline()).startswith(("PASS", "FAIL", "SKIP")):
                assert line, "the runner ended before its first stop"  # progress lines come first
            assert line.startswith(f"PASS {DEMO_STOPS[0]} "), line
        finally:
            first.kill()  # SIGKILL: no cleanup, no final sync
            first.wait()
        second = run_route(*args)
        assert second.returncode == 0, second.stdout + second.stderr
        assert f"PASS {DEMO_STOPS[0]} " not in second.stdout  # already delivered: not walked again
        assert f"SKIP {DEMO_STOPS[0]} #1: already delivered before this run" in second.stdout
    # the building has stopped cleanly: its doors' and its service's records are all on disk
    door_receipts = {
        (door_db.parent.name, seq, bytes(body))
        for door_db in (building.data_dir / "doors").glob("*/door.sqlite3")
        for seq, body in _rows(door_db, "SELECT seq, body FROM receipts")
    }
    service_db = building.data_dir / "service.sqlite3"
    relayed = {
        (door, seq, bytes(raw))
        for door, seq, raw in _rows(service_db, "SELECT door_id, seq, raw FROM receipts")
    }
    assert door_receipts and door_receipts <= relayed
    delivered = {stop for (stop,) in _rows(service_db, "SELECT DISTINCT stop_id FROM deliveries")}
    assert delivered == set(DEMO_STOPS)
    undelivered = _rows(
        service_db,
        "SELECT p.id FROM packages p JOIN routes r ON r.id = p.route_id "
        "WHERE r.driver_id = 'demo' AND p.delivered_at IS NULL",
    )
    assert undelivered == []


def _rows(path: Path, query: str) -> list[tuple]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        return db.execute(query).fetchall()
