"""run-route against a real mock building in this process: HTTP service, virtual radio, BLE doors.

Everything between the runner and the doors is the product: httpx to the FastAPI service on a
loopback port, bleak (bumble backend) over the radio's TCP attachment, the scanner pipeline on the
labels `mock-building labels` renders. The clock is the real one shifted to noon, so delivery
windows are open whenever the suite runs.
"""

from __future__ import annotations

import asyncio
import sys
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from driver_app.adapters.credentials_memory import MemoryCredentialStore
from driver_app.factory import build_workflow
from driver_app.runner.expectations import fetch_expectations
from driver_app.runner.report import StopResult
from driver_app.runner.route_runner import RunPlan, run_route
from driver_app.settings import BleMode, Settings
from mock_building.building.running import BuildingSettings, RunningBuilding, start_building
from mock_building.scenario.labels import write_labels
from mock_building.scenario.loader import Scenario, default_scenario_path, load_scenario
from tests.noon_clock import HandheldNoonClock, NoonClock

pytestmark = pytest.mark.timeout(120)


async def _run_route(
    running: RunningBuilding, clock: NoonClock, scenario: Scenario, driver: str, password: str, tmp_path: Path
) -> tuple[list[StopResult], str]:
    """One driver's route through the real runner, labels rendered from `scenario`; results and log."""
    labels = tmp_path / "labels"
    write_labels(scenario, labels)
    settings = Settings(
        access_url=running.url,
        ble_mode=BleMode.SIM,
        radio_address=running.radio_address,
        data_dir=tmp_path / "app",
    )
    handheld_clock = HandheldNoonClock(clock)
    workflow = build_workflow(settings, credentials=MemoryCredentialStore(), clock=handheld_clock)
    lines: list[str] = []
    plan = RunPlan(driver, password, labels, await asyncio.to_thread(fetch_expectations, running.url, driver))
    try:
        results = await run_route(workflow, plan, clock=handheld_clock, emit=lines.append)
    finally:
        await workflow.aclose()
    return results, "\n".join(lines)


async def test_the_demo_route_is_delivered_end_to_end(
    building: tuple[RunningBuilding, NoonClock], tmp_path: Path
) -> None:
    await _deliver_the_demo_route(*building, tmp_path)


async def test_the_demo_route_is_delivered_with_the_service_on_postgresql(
    postgres_url: str, tmp_path: Path
) -> None:
    clock = NoonClock()
    settings = BuildingSettings(data_dir=tmp_path / "building", port=0, radio_port=0, database=postgres_url)
    running = await start_building(settings, base_clock=clock)
    try:
        assert running.service.database.dialect == "postgresql"
        await _deliver_the_demo_route(running, clock, tmp_path)
    finally:
        await running.stop()
    assert not (tmp_path / "building" / "service.sqlite3").exists()  # no embedded database on the side


async def _deliver_the_demo_route(running: RunningBuilding, clock: NoonClock, tmp_path: Path) -> None:
    """The demo driver's whole route: every stop passes and every door's receipt reaches the audit feed."""
    scenario = load_scenario(default_scenario_path())
    results, report = await _run_route(running, clock, scenario, "demo", "demo-password", tmp_path)
    demo_stops = next(r for r in scenario.routes if r.driver == "demo").stops
    assert [r.stop_id for r in results] == [s.id for s in demo_stops], report
    assert all(r.passed for r in results), report
    assert all(r.seconds_to_open is not None for r in results if r.outcome == "delivered")
    assert report.splitlines()[-2] == "outbox: 0 left after sync", report
    # the building saw it all: each stop's relayed door receipt is in its buildings' audit feed
    unlocked: set[str | None] = set()
    async with httpx.AsyncClient(base_url=running.url) as http:
        for building_id in {s.building for s in demo_stops}:
            answer = await http.get(
                "/v1/audit",
                params={"building_id": building_id, "limit": 1000},
                headers={"Authorization": f"Bearer {scenario.admin_token}"},
            )
            answer.raise_for_status()
            unlocked |= {e["stop_id"] for e in answer.json() if e["outcome"] == "door_unlocked"}
    assert unlocked == {s.id for s in demo_stops}


async def test_the_cli_exits_zero_and_writes_junit(
    building: tuple[RunningBuilding, NoonClock], tmp_path: Path
) -> None:
    running, _ = building
    labels = tmp_path / "labels"
    write_labels(load_scenario(default_scenario_path()), labels)
    report = tmp_path / "junit.xml"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "driver_app.cli",
        "run-route",
        "--labels",
        str(labels),
        "--report",
        str(report),
        "--access-url",
        running.url,
        "--radio",
        running.radio_address,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=90)
    text = out.decode()
    assert process.returncode == 0, text + err.decode()
    assert text.count("PASS ") == 9 and "12/12 expectations met, 0 skipped" in text
    suite = ET.parse(report).getroot()
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("12", "0", "0")
    names = [(case.get("classname"), case.get("name")) for case in suite]
    assert names[:2] == [("run-route.S1", "P1 expects delivered"), ("run-route.S2", "P2 expects delivered")]


async def test_the_cli_exits_non_zero_when_a_stop_goes_wrong(
    building: tuple[RunningBuilding, NoonClock], tmp_path: Path
) -> None:
    running, _ = building
    labels = tmp_path / "labels"
    write_labels(load_scenario(default_scenario_path()), labels)
    running.doors["OAK-1"].faults.set(jammed=True)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "driver_app.cli",
        "run-route",
        "--labels",
        str(labels),
        "--access-url",
        running.url,
        "--radio",
        running.radio_address,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=90)
    text = out.decode()
    assert process.returncode == 1, text + err.decode()
    assert "FAIL S2 #2: expected delivered, got door_jammed [OAK-1 door_jammed]" in text
    assert "7/12 expectations met, 0 skipped" in text  # OAK-1 serves three stops with five packages


@pytest.fixture
async def faulty_building(tmp_path: Path) -> AsyncIterator[tuple[RunningBuilding, NoonClock]]:
    clock = NoonClock()
    running = await start_building(
        BuildingSettings(data_dir=tmp_path / "building", scenario_path=FAULTS, port=0, radio_port=0),
        base_clock=clock,
    )
    yield running, clock
    await running.stop()


FAULTS = default_scenario_path().parent / "faults.toml"


async def test_the_faults_scenario_shows_every_injected_fault(
    faulty_building: tuple[RunningBuilding, NoonClock], tmp_path: Path
) -> None:
    running, clock = faulty_building
    results, report = await _run_route(running, clock, load_scenario(FAULTS), "qa", "qa-password", tmp_path)
    attempts = {r.stop_id: sorted((a.door_id, a.outcome) for a in r.attempts) for r in results}
    # both F2 doors are heard at the same RSSI: the jammed one is tried only if it comes first
    assert attempts.pop("F2") in (
        [("JAM-1", "door_jammed"), ("SLOW-1", "delivered")],
        [("SLOW-1", "delivered")],
    )
    assert attempts == {
        "F1": [("OK-1", "delivered")],
        "F3": [("FAST-1", "expired"), ("LATE-1", "not_yet_valid")],
        # DROP-1's fault is a standing switch: the retry drops too, and faults.toml expects that
        "F4": [("DROP-1", "door_link_lost"), ("KEY-1", "bad_signature")],
        "F5": [("SWIFT-1", "carrier_not_accepted")],
        "F6": [("OK-1", "outside_delivery_window")],
        "F7": [("FAR-1", "delivered")],  # -96 dBm is weak but still heard
        "F8": [("", "door_not_found")],  # OFF-1 is powered off and out of range
    }, report
    assert all(r.passed for r in results), report
    assert report.splitlines()[-2] == "outbox: 0 left after sync", report
