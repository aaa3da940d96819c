"""A service that keeps running past local midnight has the new day's routes."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

import pytest

from mock_building.service import chores
from mock_building.service.clock import FakeClock
from mock_building.service.route_days import RouteDays
from tests.service_support import make_app, scenario, served_client, sign_in, stored_value

pytestmark = pytest.mark.usefixtures("service_backend")

LATE = datetime(2026, 11, 23, 23, 59, 30, tzinfo=UTC)  # the test scenario's zone is UTC


async def test_a_served_service_seeds_the_new_days_routes_as_the_day_turns(tmp_path, monkeypatch):
    monkeypatch.setattr(chores, "CHECK_EVERY_S", 0.05)
    clock = FakeClock(LATE)
    db = tmp_path / "service.sqlite3"
    async with served_client(db, clock) as client:
        alice = await sign_in(client, "alice", "alice-pw")
        today = await client.get("/v1/routes/today", headers=alice.headers)
        assert today.status_code == 200 and today.json()["date"] == "2026-11-23"
        clock.advance(60)
        for _ in range(200):
            tomorrow = await client.get("/v1/routes/today", headers=alice.headers)
            if tomorrow.status_code == 200:
                break
            assert tomorrow.json()["code"] == "not_found"
            await asyncio.sleep(0.02)
        assert tomorrow.status_code == 200, tomorrow.text
        assert tomorrow.json()["date"] == "2026-11-24"
        assert [s["stop_id"] for s in tomorrow.json()["stops"]] == [
            s["stop_id"] for s in today.json()["stops"]
        ]
        assert (await alice.grant("S1", "A-N", "BC-1")).status_code == 201
    days = await stored_value(db, "SELECT COUNT(*) FROM routes WHERE driver_id = $1", "alice")
    assert int(days) == 2  # yesterday's route is kept


async def test_workers_turning_the_day_together_add_each_route_once(tmp_path):
    clock = FakeClock(LATE)
    db = tmp_path / "service.sqlite3"
    apps = [await make_app(clock, db), await make_app(clock, db)]
    try:
        clock.advance(60)
        workers = [
            RouteDays(
                app.state.service.database, scenario(), clock, scenario().zone, seeded=date(2026, 11, 23)
            )
            for app in apps
        ]
        added = await asyncio.gather(*(worker.catch_up() for worker in workers))
        assert sorted(added) == [0, len(scenario().routes)]
        assert [await worker.catch_up() for worker in workers] == [0, 0]  # the same day: nothing to do
    finally:
        for app in apps:
            await app.state.service.database.close()
    count = await stored_value(db, "SELECT COUNT(*) FROM routes WHERE day = $1", "2026-11-24")
    assert int(count) == len(scenario().routes)
