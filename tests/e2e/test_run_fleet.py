"""`run-fleet`: simulated drivers at once in one process against a generated city (a real building
in-process: HTTP on loopback, the emulated radio with geography, 100 doors)."""

from __future__ import annotations

import asyncio
import dataclasses
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from xml.etree import ElementTree

import pytest

from driver_app.runner.fleet import run_fleet
from driver_app.runner.scenario_file import read_fleet
from driver_app.settings import BleMode, Settings
from mock_building.building.running import BuildingSettings, RunningBuilding, start_building
from mock_building.scenario.generate import CitySpec, generate_scenario
from tests.noon_clock import HandheldNoonClock, NoonClock

pytestmark = pytest.mark.timeout(120)

CITY = CitySpec(buildings=20, doors_per_building=5, drivers=20, stops_per_route=2, carriers=2, seed="fleet")


@pytest.fixture
async def city(tmp_path: Path) -> AsyncIterator[tuple[RunningBuilding, NoonClock, Path]]:
    scenario = tmp_path / "city.toml"
    scenario.write_text(generate_scenario(CITY), encoding="utf-8")
    clock = NoonClock()
    running = await start_building(
        BuildingSettings(data_dir=tmp_path / "building", scenario_path=scenario, port=0, radio_port=0),
        base_clock=clock,
    )
    yield running, clock, scenario
    await running.stop()


async def test_drivers_walk_their_routes_at_once_and_the_table_lists_the_unexpected(
    city: tuple[RunningBuilding, NoonClock, Path], tmp_path: Path
) -> None:
    """Fourteen drivers through `run_fleet`, then three more through the command (one city: a
    building of 100 doors takes a while to start)."""
    building, clock, scenario = city
    everyone = read_fleet(scenario)
    assert len(everyone) == 20
    drivers = everyone[:14]
    # Driver 1 is told every parcel should meet a jammed door: each delivery is then unexpected.
    drivers[0] = dataclasses.replace(
        drivers[0], expectations=dict.fromkeys(drivers[0].expectations, "door_jammed")
    )
    settings = Settings(
        access_url=building.url,
        ble_mode=BleMode.SIM,
        radio_address=building.radio_address,
        data_dir=tmp_path / "fleet",
    )
    lines: list[str] = []
    report = await run_fleet(
        drivers, settings, clock=HandheldNoonClock(clock), spawn_rate=50, progress=lines.append
    )

    assert report.setup_failures == []
    assert len(report.results) == 28  # every stop of every route
    first_driver_stops = [r for d, r in report.results if d == "driver0001"]
    assert report.unexpected == [("driver0001", r) for r in first_driver_stops]
    assert all(r.outcome == "delivered" and r.expected_text == "door_jammed" for r in first_driver_stops)
    first_stop = first_driver_stops[0].stop_id
    expected_refusals = {
        (d, r.stop_id) for d, r in report.results if {e for _, e in r.expected} == {"carrier_not_accepted"}
    }
    assert expected_refusals  # the generated city has picky buildings
    refused = {(d, r.stop_id) for d, r in report.results if r.outcome == "carrier_not_accepted"}
    assert refused == expected_refusals
    # Each driver had its own outbox (and key): twenty folders, every receipt synced.
    assert len(list((tmp_path / "fleet").iterdir())) == 14
    table = "\n".join(report.table(clock_monotonic := HandheldNoonClock(clock).monotonic()))
    assert "stops/s" in table and "p99" in table and f"driver0001 {first_stop}: delivered" in table
    assert report.elapsed(clock_monotonic) > 0
    assert not report.passed
    await _the_command_runs_a_slice_of_the_drivers_and_writes_junit(building, scenario, tmp_path)


async def _the_command_runs_a_slice_of_the_drivers_and_writes_junit(
    building: RunningBuilding, scenario: Path, tmp_path: Path
) -> None:
    junit = tmp_path / "fleet.xml"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "driver_app.cli",
        "run-fleet",
        "--drivers",
        "3",
        "--skip",
        "14",
        "--scenario",
        str(scenario),
        "--access-url",
        building.url,
        "--radio",
        building.radio_address,
        "--report",
        str(junit),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 90)
    table = out.decode()
    assert process.returncode == 0, table + err.decode()
    assert "drivers          3 (0 could not start)" in table
    assert "stops            6 in" in table and "unexpected       0" in table
    assert "fleet: " in err.decode()  # the progress line
    cases = ElementTree.parse(junit).getroot().findall("testcase")
    assert sorted({case.get("classname", "").split(".")[1] for case in cases}) == [
        "driver0015",
        "driver0016",
        "driver0017",
    ]
