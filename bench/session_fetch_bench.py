"""What the per-request storage calls of sessions and door upkeep cost, on each backend.

`authenticate` runs on every driver request and `pending` (the door's upkeep) rides on every grant;
`refresh` rotates a token (a transaction with a conditional UPDATE). Each is called sequentially
N times on a seeded database; wall and process-CPU microseconds per call are printed, with the load.

    python bench/session_fetch_bench.py [--calls 2000] [--postgres postgresql://user@host:port/db]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from mock_building.scenario.loader import default_scenario_path, load_scenario
from mock_building.service.auth import Sessions
from mock_building.service.seed import seed_database
from mock_building.service.signers import CarrierSigners
from mock_building.service.storage import open_database
from mock_building.service.throttle import ACCOUNT_THROTTLE, CLIENT_THROTTLE, SignInThrottle
from mock_building.service.upkeep import UpkeepDesk, UpkeepKeys

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


async def _timed(name: str, calls: int, call: Callable[[int], Awaitable[object]]) -> None:
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(calls):
        await call(i)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"  {name:<13} {wall / calls * 1e6:8.1f} µs wall  {cpu / calls * 1e6:8.1f} µs CPU per call")


async def run(database_url: str | Path, calls: int) -> None:
    scenario = load_scenario(default_scenario_path())
    database = await open_database(database_url)
    try:
        await seed_database(database, scenario, NOW.date(), password_cost=2**10)
        throttle = SignInThrottle(database, account=ACCOUNT_THROTTLE, client=CLIENT_THROTTLE)
        sessions = Sessions(database, throttle, access_ttl_s=900, refresh_ttl_s=3600)
        driver = scenario.drivers[0]
        pair = await sessions.sign_in(driver.id, driver.password, NOW, client="bench")
        keys = UpkeepKeys(scenario.upkeep_key, {b.id: scenario.owner_key(b.id) for b in scenario.buildings})
        desk = UpkeepDesk(database, keys, CarrierSigners({}))
        door = scenario.doors[0].id
        print(f"{database.dialect} ({calls} calls each)")
        await _timed("authenticate", calls, lambda _: sessions.authenticate(pair.access_token, NOW))
        await _timed("pending", calls, lambda _: desk.pending(door, NOW))
        tokens = [pair.refresh_token]

        async def rotate(_: int) -> None:
            tokens.append((await sessions.refresh(tokens[-1], NOW)).refresh_token)

        await _timed("refresh", calls, rotate)
    finally:
        await database.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--postgres", help="also run on this (empty, scratch) PostgreSQL database")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(Path(tmp) / "service.sqlite3", args.calls))
    if args.postgres:
        asyncio.run(run(args.postgres, args.calls))
    print("load average:", " ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
