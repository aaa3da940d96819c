"""`driver-app run-fleet`: many simulated drivers at once against a running mock building."""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from driver_app.settings import DEFAULT_ACCESS_URL, DEFAULT_RADIO, BleMode, Settings

if TYPE_CHECKING:
    from driver_app.runner.scenario_file import FleetDriver

# Everything else is imported when the command runs, so `driver-app --help` stays quick.

EXIT_OK, EXIT_FAILED, EXIT_SETUP = 0, 1, 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Run D simulated drivers concurrently in this one process, each walking its own route through the "
        "app's workflow (real HTTP, the building's emulated BLE, its own handheld key and outbox); print a "
        "live progress line and a final table: stops/s, stop time p50/p95/p99, outcomes by reason, and "
        "every outcome the scenario did not expect."
    )
    parser.add_argument("--drivers", type=int, required=True, metavar="D", help="how many drivers drive")
    parser.add_argument(
        "--scenario",
        type=Path,
        metavar="FILE",
        help="the scenario the building runs: the first D of its drivers drive, and stops "
        "expect what its packages' `expect` say (default: driver0001..driverD as "
        "`mock-building scenario generate` names them, every stop expects delivered)",
    )
    parser.add_argument(
        "--skip",
        type=int,
        default=0,
        metavar="K",
        help="leave the first K drivers to another run (another machine or an earlier run)",
    )
    parser.add_argument("--report", type=Path, metavar="FILE", help="write JUnit XML here")
    parser.add_argument("--duration", type=float, metavar="S", help="stop unfinished routes after S seconds")
    parser.add_argument(
        "--spawn-rate",
        type=float,
        default=5.0,
        metavar="R",
        help="drivers starting per second (default %(default)s), as Locust's -r",
    )
    parser.add_argument("--access-url", default=DEFAULT_ACCESS_URL, help=f"default {DEFAULT_ACCESS_URL}")
    parser.add_argument(
        "--radio", default=DEFAULT_RADIO, help=f"sim radio HOST:PORT (default {DEFAULT_RADIO})"
    )
    parser.add_argument(
        "--data-dir", type=Path, help="outboxes, one folder per driver (default: a temporary one)"
    )


def run(args: argparse.Namespace) -> int:
    from driver_app.runner.scenario_file import ScenarioFileError, generated_drivers, read_fleet

    if args.drivers < 1 or args.skip < 0:
        print("run-fleet: --drivers must be at least 1 and --skip at least 0", file=sys.stderr)
        return EXIT_SETUP
    wanted = slice(args.skip, args.skip + args.drivers)
    try:
        everyone = read_fleet(args.scenario) if args.scenario else generated_drivers(args.skip + args.drivers)
        drivers = everyone[wanted]
    except ScenarioFileError as err:
        print(f"run-fleet: {err}", file=sys.stderr)
        return EXIT_SETUP
    if len(drivers) < args.drivers:
        print(f"run-fleet: the scenario has only {args.skip + len(drivers)} drivers", file=sys.stderr)
        return EXIT_SETUP
    with tempfile.TemporaryDirectory(prefix="lobbykey-run-fleet-") as scratch:
        settings = Settings(
            access_url=args.access_url,
            ble_mode=BleMode.SIM,
            radio_address=args.radio,
            data_dir=args.data_dir or Path(scratch),
        )
        return asyncio.run(_run(settings, drivers, args))


async def _run(settings: Settings, drivers: list[FleetDriver], args: argparse.Namespace) -> int:
    from driver_app.adapters.clock import SystemClock
    from driver_app.runner.fleet import run_fleet
    from driver_app.runner.report import write_junit

    live = sys.stderr.isatty()

    def progress(line: str) -> None:
        sys.stderr.write(("\r" + line + "\x1b[K") if live else line + "\n")
        sys.stderr.flush()

    clock = SystemClock()
    if args.spawn_rate <= 0:
        print("run-fleet: --spawn-rate must be positive", file=sys.stderr)
        return EXIT_SETUP
    report = await run_fleet(
        drivers, settings, clock=clock, duration=args.duration, spawn_rate=args.spawn_rate, progress=progress
    )
    if live:
        sys.stderr.write("\n")
    for line in report.table(clock.monotonic()):
        print(line)
    if args.report is not None:
        write_junit(
            [result for _, result in report.results],
            args.report,
            suite="run-fleet",
            drivers=[driver for driver, _ in report.results],
        )
    return EXIT_OK if report.passed else EXIT_FAILED
