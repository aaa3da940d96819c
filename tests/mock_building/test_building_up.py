"""The building orchestrator in-process: parts wired on one loop, door faults at run time, clock, state."""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import socket
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
import pytest_asyncio

from mock_building.building.day_clock import DayShiftedClock
from mock_building.building.live_view import HeadlessLog, make_console, render_view
from mock_building.building.running import (
    BuildingError,
    BuildingMode,
    BuildingSettings,
    RunningBuilding,
    banner,
    run_building,
    start_building,
)
from mock_building.building.service import DATABASE_NAME
from mock_building.service.clock import FakeClock
from mock_building.service.storage import sqlite as sqlite_backend

ADMIN = {"Authorization": "Bearer demo-admin-token"}  # the demo scenario's admin token
BASE = FakeClock(datetime(2026, 11, 23, 23, 30, tzinfo=UTC))

# One building (and loop) for the module: starting one takes about half a second.
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def building(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningBuilding]:
    running = await start_building(
        BuildingSettings(
            data_dir=tmp_path_factory.mktemp("up") / "data", port=0, radio_port=0, today=date(2030, 1, 2)
        ),
        base_clock=BASE,
    )
    try:
        yield running
    finally:
        await running.stop()


async def test_service_and_doors_share_the_shifted_day(building: RunningBuilding) -> None:
    async with httpx.AsyncClient(base_url=building.url) as http:
        token = (
            await http.post("/v1/auth/sign-in", json={"driver_id": "demo", "password": "demo-password"})
        ).json()
        route = await http.get(
            "/v1/routes/today", headers={"Authorization": f"Bearer {token['access_token']}"}
        )
    assert route.json()["date"] == "2030-01-02"
    shifted = DayShiftedClock(BASE, date(2030, 1, 2), ZoneInfo("UTC"))
    assert building.doors["ELM-N"].running.controller.now() == shifted.unix()


async def test_banner_names_every_way_in(building: RunningBuilding) -> None:
    lines = banner(building)
    assert any(building.url in line and f"{building.url}/openapi.json" in line for line in lines)
    assert any(building.radio_address in line for line in lines)
    assert any("demo / demo-password" in line for line in lines)
    assert "ELM-N, ELM-S, OAK-1, BIRCH-1, PINE-1" in lines[-1]


async def test_door_faults_are_toggled_through_the_admin_endpoint(building: RunningBuilding) -> None:
    async with httpx.AsyncClient(base_url=building.url) as http:
        assert "/v1/admin/doors/{door_id}/faults" in (await http.get("/openapi.json")).json()["paths"]
        changed = await http.put(
            "/v1/admin/doors/ELM-N/faults", json={"jammed": True, "slow_ms": 250}, headers=ADMIN
        )
        assert changed.status_code == 200
        assert changed.json()["faults"]["jammed"] is True and changed.json()["faults"]["slow_ms"] == 250
        read = await http.get("/v1/admin/doors/ELM-N/faults", headers=ADMIN)
        assert read.json() == changed.json()
        out = await http.put("/v1/admin/doors/ELM-S/faults", json={"out_of_range": True}, headers=ADMIN)
        assert out.status_code == 200

    assert building.doors["ELM-N"].faults.jammed is True
    status = next(d for d in (await building.view()).doors if d.door_id == "ELM-N")
    assert dict(status.faults) == {"jammed": True, "slow_ms": 250}
    assert building.radio.conditions(building.scenario.door("ELM-S").ble_address).rssi_dbm is None


@pytest.mark.parametrize(
    ("door", "body", "headers", "status", "code"),
    [
        ("ELM-N", {"jammed": True}, {}, 401, "not_authenticated"),
        ("ELM-N", {"jammed": True}, {"Authorization": "Bearer nope"}, 403, "forbidden"),
        ("NOPE", {"jammed": True}, ADMIN, 404, "not_found"),
        ("ELM-N", {"levitating": True}, ADMIN, None, "invalid_request"),
        ("ELM-N", {"slow_ms": -5}, ADMIN, None, "invalid_request"),
        ("ELM-N", {"jammed": 3}, ADMIN, None, "invalid_request"),
        ("ELM-N", ["jammed"], ADMIN, None, "invalid_request"),
    ],
)
async def test_bad_door_fault_requests_get_problem_details(
    building: RunningBuilding, door: str, body: object, headers: dict[str, str], status: int | None, code: str
) -> None:
    before = building.doors["ELM-N"].faults.active()
    async with httpx.AsyncClient(base_url=building.url) as http:
        answer = await http.put(f"/v1/admin/doors/{door}/faults", json=body, headers=headers)
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["code"] == code
    assert answer.status_code == status if status else 400 <= answer.status_code < 500
    assert building.doors["ELM-N"].faults.active() == before


async def test_a_taken_port_is_a_clear_error_and_nothing_is_left_running(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(BuildingError) as caught:
            await start_building(BuildingSettings(data_dir=tmp_path, port=port, radio_port=0))
    assert caught.value.reason == "port_unavailable" and str(port) in caught.value.message
    again = await start_building(BuildingSettings(data_dir=tmp_path, port=0, radio_port=0))
    await again.stop()


async def test_fresh_wipes_the_state_and_without_it_the_state_is_kept(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = await start_building(BuildingSettings(data_dir=data, port=0, radio_port=0))
    await first.stop()
    marker = data / "doors" / "ELM-N" / "marker"
    marker.write_text("x")
    kept = await start_building(BuildingSettings(data_dir=data, port=0, radio_port=0))
    await kept.stop()
    assert marker.exists()
    fresh = await start_building(BuildingSettings(data_dir=data, port=0, radio_port=0, fresh=True))
    await fresh.stop()
    assert not marker.exists() and (data / "doors" / "ELM-N").is_dir()


class _Terminal(io.StringIO):
    """Captures what `up` prints and tells the test the moment "ready" is printed."""

    def __init__(self) -> None:
        super().__init__()
        self.ready = asyncio.Event()

    def write(self, text: str) -> int:
        if "ready\n" in text:
            self.ready.set()
        return super().write(text)


async def _bearer(http: httpx.AsyncClient, driver_id: str, password: str) -> dict[str, str]:
    tokens = await http.post("/v1/auth/sign-in", json={"driver_id": driver_id, "password": password})
    return {"Authorization": f"Bearer {tokens.json()['access_token']}"}


async def test_up_renders_and_serves_each_driver_only_their_own_labels(building: RunningBuilding) -> None:
    await building.labels_rendered()
    rendered = sorted(p.name for p in building.labels_dir.iterdir())
    assert len(rendered) == 14  # the demo scenario's packages: 12 on demo's route, 2 on sam's
    async with httpx.AsyncClient(base_url=building.url) as http:
        anonymous = await http.get("/v1/dev/labels")
        demo = await _bearer(http, "demo", "demo-password")
        sam = await _bearer(http, "sam", "sam-password")
        listing = (await http.get("/v1/dev/labels", headers=demo)).json()["labels"]
        sams = (await http.get("/v1/dev/labels", headers=sam)).json()["labels"]
        image = await http.get(f"/v1/dev/labels/{listing[0]}", headers=demo)
        not_yours = await http.get(f"/v1/dev/labels/{listing[0]}", headers=sam)
        unlisted = await http.get("/v1/dev/labels/..%2Fservice.sqlite3", headers=demo)
        missing = await http.get("/v1/dev/labels/service.sqlite3", headers=demo)
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "not_authenticated"
    assert len(listing) == 12 and sorted(sams) == ["Q1.png", "Q2.png"]
    assert sorted(listing + sams) == rendered
    assert image.headers["content-type"] == "image/png"
    assert image.content == (building.labels_dir / listing[0]).read_bytes()
    assert not_yours.status_code == 404
    assert unlisted.status_code == 404
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


async def test_a_label_asked_for_before_it_is_rendered_is_rendered_then_with_the_same_bytes(
    building: RunningBuilding,
) -> None:
    await building.labels_rendered()
    async with httpx.AsyncClient(base_url=building.url) as http:
        demo = await _bearer(http, "demo", "demo-password")
        name = (await http.get("/v1/dev/labels", headers=demo)).json()["labels"][0]
        file = building.labels_dir / name
        rendered_in_background = file.read_bytes()
        file.unlink()  # as if the background renderer had not reached it yet
        image = await http.get(f"/v1/dev/labels/{name}", headers=demo)
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert image.content == rendered_in_background == file.read_bytes()


async def test_a_production_building_serves_no_labels(tmp_path: Path) -> None:
    settings = BuildingSettings(
        data_dir=tmp_path / "data", port=0, radio_port=0, mode=BuildingMode.PRODUCTION
    )
    running = await start_building(settings)
    try:
        async with httpx.AsyncClient(base_url=running.url) as http:
            demo = await _bearer(http, "demo", "demo-password")
            listing = await http.get("/v1/dev/labels", headers=demo)
    finally:
        await running.stop()
    assert listing.status_code == 404 and listing.json()["code"] == "not_found"


@pytest.mark.parametrize("live", [False, True], ids=["headless", "live"])
async def test_up_announces_readiness_and_stops_on_sigterm(tmp_path: Path, live: bool) -> None:
    out = _Terminal()
    ready_file = tmp_path / "ready.json"
    settings = BuildingSettings(data_dir=tmp_path / "data", port=0, radio_port=0, ready_file=ready_file)
    running = asyncio.create_task(run_building(settings, live=live, out=out))
    await asyncio.wait_for(out.ready.wait(), 30)

    record = json.loads(ready_file.read_text())
    assert record["driver"] == {"id": "demo", "password": "demo-password"}
    assert record["url"] in out.getvalue() and str(record["radio"]["port"]) in out.getvalue()
    assert record["labels"] == str(tmp_path / "data" / "labels") and record["labels"] in out.getvalue()
    os.kill(os.getpid(), signal.SIGTERM)

    assert await asyncio.wait_for(running, 30) == 0
    assert out.getvalue().endswith("stopped\n") and not ready_file.exists()
    if live:
        assert "PINE-1" in out.getvalue() and "audit feed" in out.getvalue()


async def test_the_view_outlives_a_database_it_cannot_reach(tmp_path: Path, monkeypatch) -> None:
    """The live view shows the doors, says the database is away and keeps the last audit, then recovers."""
    monkeypatch.setattr(sqlite_backend, "BUSY_TIMEOUT_S", 0.1)
    data_dir = tmp_path / "data"
    running = await start_building(
        BuildingSettings(data_dir=data_dir, port=0, radio_port=0, today=date(2030, 1, 2)), base_clock=BASE
    )
    try:
        door = running.service.scenario.door("ELM-N")
        other = sqlite3.connect(data_dir / DATABASE_NAME, isolation_level=None)
        # A door event the feed has yet to number: reading the feed must write, and cannot.
        other.execute(
            "INSERT INTO audit_events (at, kind, building_id, door_id, outcome, reason)"
            " VALUES ('2030-01-02T08:00:00+00:00', 'door', ?, ?, 'unlocked', 'ok')",
            (door.building, door.id),
        )
        other.execute("BEGIN IMMEDIATE")  # another process writing, and not letting go
        try:
            away = await running.view()
        finally:
            other.execute("ROLLBACK")
            other.close()
        back = await running.view()
    finally:
        await running.stop()
    assert not away.database_reachable and len(away.doors) == len(back.doors)
    assert back.database_reachable and [(a.door_id, a.outcome) for a in back.audit][-1] == (
        "ELM-N",
        "unlocked",
    )
    screen, log = io.StringIO(), io.StringIO()
    make_console(screen).print(render_view(away))
    headless = HeadlessLog(log)
    headless.update(away)
    headless.update(back)
    assert "database cannot be reached" in screen.getvalue()
    assert "database cannot be reached" in log.getvalue() and "database is back" in log.getvalue()
