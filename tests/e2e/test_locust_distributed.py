"""The Locust load profile, distributed: one master and two local workers, headless, drive every
route of a small generated city against a real building (in-process: HTTP and radio over TCP)."""

from __future__ import annotations

import asyncio
import csv
import socket
import sys
from pathlib import Path

import pytest

from mock_building.building.running import BuildingSettings, start_building
from mock_building.scenario.generate import CitySpec, generate_scenario

pytestmark = pytest.mark.timeout(150)

REPO = Path(__file__).resolve().parents[2]
CITY = CitySpec(buildings=6, doors_per_building=2, drivers=6, stops_per_route=2, seed="locust")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_a_master_and_two_workers_walk_every_route_and_report_stop_times(tmp_path: Path) -> None:
    scenario = tmp_path / "city.toml"
    scenario.write_text(generate_scenario(CITY), encoding="utf-8")
    building = await start_building(
        BuildingSettings(data_dir=tmp_path / "building", scenario_path=scenario, port=0, radio_port=0)
    )
    port, prefix = _free_port(), tmp_path / "locust"
    common = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(REPO / "locustfile.py"),
        "--lobbykey-scenario",
        str(scenario),
        "--lobbykey-url",
        building.url,
        "--lobbykey-radio",
        building.radio_address,
        "--lobbykey-workers",
        "2",
    ]
    processes: list[asyncio.subprocess.Process] = []
    try:
        master = await asyncio.create_subprocess_exec(
            *common,
            "--master",
            "--headless",
            "-u",
            "6",
            "-r",
            "6",
            "--run-time",
            "100s",
            "--expect-workers",
            "2",
            "--master-bind-port",
            str(port),
            "--csv",
            str(prefix),
            "--only-summary",
            cwd=REPO,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        processes.append(master)
        for _ in range(2):
            processes.append(
                await asyncio.create_subprocess_exec(
                    *common,
                    "--worker",
                    "--master-port",
                    str(port),
                    cwd=REPO,
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.DEVNULL,
                )
            )
        output, _ = await asyncio.wait_for(master.communicate(), 120)
        for worker in processes[1:]:
            await asyncio.wait_for(worker.wait(), 30)
    finally:
        for process in processes:
            if process.returncode is None:
                process.kill()
                await process.wait()
        await building.stop()

    with (tmp_path / "locust_stats.csv").open(newline="") as stats:
        stops = [row for row in csv.DictReader(stats) if row["Type"] == "STOP"]
    assert {row["Name"] for row in stops} == {"delivered"}, output.decode()
    assert sum(int(row["Request Count"]) for row in stops) == CITY.drivers * CITY.stops_per_route
    assert sum(int(row["Failure Count"]) for row in stops) == 0
    assert all(float(row["50%"]) > 0 for row in stops)
