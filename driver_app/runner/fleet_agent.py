"""A fleet in a child process, driven over its standard streams: how Locust workers run drivers.

Locust runs on gevent, which patches sockets and selectors under asyncio's feet; simulated
drivers (httpx, bumble, the workflow core) need a plain asyncio loop. So each Locust worker starts
one agent (`python -m driver_app.runner.fleet_agent --access-url … --radio …`) and sends it one
JSON line per driver to start; the agent answers with one JSON line per finished stop and one when
the driver's day is over::

    → {"driver": "driver0001", "password": "…", "expectations": {"stop-1": ["delivered"]}}
    ← {"driver": "driver0001", "stop": "stop-1", "outcome": "delivered", "passed": true,
       "elapsed": 0.41, "expected": "delivered", "detail": ""}
    ← {"driver": "driver0001", "done": true, "error": null}

The agent ends when its input closes and every started driver is done.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from driver_app.adapters.clock import SystemClock
from driver_app.core.errors import WorkflowError
from driver_app.runner.fleet import drive_route
from driver_app.runner.report import StopResult
from driver_app.runner.scenario_file import FleetDriver
from driver_app.settings import DEFAULT_ACCESS_URL, DEFAULT_RADIO, BleMode, Settings


def _say(record: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


def stop_record(driver_id: str, result: StopResult) -> dict[str, Any]:
    return {
        "driver": driver_id,
        "stop": result.stop_id,
        "outcome": result.outcome,
        "passed": result.passed,
        "elapsed": result.elapsed,
        "expected": result.expected_text,
        "detail": result.detail,
    }


def driver_from(record: dict[str, Any]) -> FleetDriver:
    expectations = {str(package): str(outcome) for package, outcome in record.get("expectations", {}).items()}
    return FleetDriver(str(record["driver"]), str(record["password"]), expectations)


def driver_record(driver: FleetDriver) -> dict[str, Any]:
    """What the agent's input expects for one driver (the inverse of `driver_from`)."""
    return {
        "driver": driver.driver_id,
        "password": driver.password,
        "expectations": dict(driver.expectations),
    }


async def serve(settings: Settings) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    clock = SystemClock()
    running: set[asyncio.Task[None]] = set()

    async def drive(driver: FleetDriver) -> None:
        error = None
        try:
            await drive_route(
                driver, settings, clock=clock, on_stop=lambda r: _say(stop_record(driver.driver_id, r))
            )
        except WorkflowError as err:
            error = f"{err.title} ({err.reason})"
        _say({"driver": driver.driver_id, "done": True, "error": error})

    while line := await reader.readline():
        task = asyncio.ensure_future(drive(driver_from(json.loads(line))))
        running.add(task)
        task.add_done_callback(running.discard)
    await asyncio.gather(*running)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--access-url", default=DEFAULT_ACCESS_URL)
    parser.add_argument("--radio", default=DEFAULT_RADIO)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="lobbykey-fleet-agent-") as scratch:
        settings = Settings(
            access_url=args.access_url, ble_mode=BleMode.SIM, radio_address=args.radio, data_dir=Path(scratch)
        )
        asyncio.run(serve(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
