"""A handheld whose clock reset to 2000-01-01 still gets every delivery recorded, at the service's time.

The whole route on a real mock building (HTTP service, radio, BLE doors): the handheld's clock only
dates its claims; the service judges the route day and the delivery time by its own clock and the
grant, and keeps the claim beside them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
import time
from pathlib import Path

import pytest

from driver_app.adapters.credentials_memory import MemoryCredentialStore
from driver_app.factory import build_workflow
from driver_app.runner.expectations import fetch_expectations
from driver_app.runner.route_runner import RunPlan, run_route
from driver_app.settings import BleMode, Settings
from mock_building.building.running import RunningBuilding
from mock_building.scenario.labels import write_labels
from mock_building.scenario.loader import default_scenario_path, load_scenario
from tests.noon_clock import NoonClock

pytestmark = pytest.mark.timeout(120)

Y2K = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


class ResetClock:
    """A handheld clock that restarted at 2000-01-01 (the wall clock only; durations are fine)."""

    def __init__(self) -> None:
        self._started = time.monotonic()

    def now(self) -> float:
        return Y2K.timestamp() + time.monotonic() - self._started

    def monotonic(self) -> float:
        return time.monotonic()


async def test_a_handheld_clock_at_2000_loses_no_delivery(
    building: tuple[RunningBuilding, NoonClock], tmp_path: Path
) -> None:
    running, service_clock = building
    scenario = load_scenario(default_scenario_path())
    write_labels(scenario, tmp_path / "labels")
    settings = Settings(
        access_url=running.url,
        ble_mode=BleMode.SIM,
        radio_address=running.radio_address,
        data_dir=tmp_path / "app",
    )
    clock = ResetClock()
    workflow = build_workflow(settings, credentials=MemoryCredentialStore(), clock=clock)
    lines: list[str] = []
    plan = RunPlan(
        "demo",
        "demo-password",
        tmp_path / "labels",
        await asyncio.to_thread(fetch_expectations, running.url, "demo"),
    )
    try:
        results = await run_route(workflow, plan, clock=clock, emit=lines.append)
    finally:
        await workflow.aclose()
    report = "\n".join(lines)
    assert results and all(r.passed for r in results), report
    assert lines[-2] == "outbox: 0 left after sync", report
    with sqlite3.connect(tmp_path / "building" / "service.sqlite3") as db:  # the conftest building's file
        rows = db.execute("SELECT delivered_at, claimed_delivered_at FROM deliveries").fetchall()
    assert rows
    today = service_clock.now().date()
    for delivered_at, claimed in rows:
        assert dt.datetime.fromisoformat(claimed).year == 2000  # the claim is kept as a claim
        assert dt.datetime.fromisoformat(delivered_at).date() == today  # judged by the service
