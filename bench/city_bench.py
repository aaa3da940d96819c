"""A city on one building: 1,000 doors in 200 buildings at 100 ms advertising, fleets of drivers.

Generates the city (`mock-building scenario generate`), starts `mock-building up` on it as a
subprocess and measures, in one run: start-up to ready, idle CPU of the building (from
/proc/PID/stat over --idle seconds, no handheld attached), stop time p50/p95/p99 of fleets of
1, 10, 50 and 200 simulated drivers (`run_fleet`, in this process; each fleet takes drivers the
earlier ones did not), then SIGTERM to exit. A 5-door building (one building) is measured the
same way first (five one-door buildings, one driver), for the "one driver's stop p50 within
1.5x of 5 doors" comparison. Targets: idle
CPU <= 10% of a core, ready <= 5 s, SIGTERM to exit <= 2 s. The load average is printed.

    python bench/city_bench.py [--sizes 1,10,50,200] [--stops 3] [--idle 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from driver_app.adapters.clock import SystemClock  # noqa: E402  (after the path fix above)
from driver_app.runner.fleet import FleetReport, run_fleet  # noqa: E402
from driver_app.runner.report import percentile  # noqa: E402
from driver_app.runner.scenario_file import read_fleet  # noqa: E402
from driver_app.settings import BleMode, Settings  # noqa: E402
from tests.building_process import CHILD_ENV, up_command  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def generate(out: Path, buildings: int, doors: int, drivers: int, stops: int) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "mock_building.cli",
            "scenario",
            "generate",
            "--buildings",
            str(buildings),
            "--doors-per-building",
            str(doors),
            "--drivers",
            str(drivers),
            "--stops-per-route",
            str(stops),
            "--seed",
            "bench",
            "--out",
            str(out),
        ],
        cwd=REPO,
        check=True,
        capture_output=True,
        env=CHILD_ENV,
    )


class Building:
    def __init__(self, scenario: Path, work: Path) -> None:
        ready_file = work / f"{scenario.stem}.ready.json"
        started = time.perf_counter()
        self.process = subprocess.Popen(
            up_command(work / scenario.stem, ready_file=ready_file, scenario=scenario, fresh=True),
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=CHILD_ENV,
        )
        while not ready_file.exists():
            if self.process.poll() is not None:
                errors = self.process.stderr.read() if self.process.stderr else ""
                raise SystemExit(f"the building exited: {errors}")
            time.sleep(0.05)
        self.ready_s = time.perf_counter() - started
        record = json.loads(ready_file.read_text())
        self.url = record["url"]
        self.radio = f"{record['radio']['host']}:{record['radio']['port']}"

    def idle_cpu(self, seconds: float) -> float:
        before, started = cpu_seconds(self.process.pid), time.perf_counter()
        time.sleep(seconds)
        return (cpu_seconds(self.process.pid) - before) / (time.perf_counter() - started)

    def stop(self) -> float:
        started = time.perf_counter()
        self.process.send_signal(signal.SIGTERM)
        self.process.communicate(timeout=120)
        return time.perf_counter() - started


def fleet(building: Building, scenario: Path, skip: int, size: int, work: Path) -> tuple[FleetReport, float]:
    """The fleet's report and the CPU seconds this process (all its drivers) spent on it."""
    drivers = read_fleet(scenario)[skip : skip + size]
    settings = Settings(
        access_url=building.url,
        ble_mode=BleMode.SIM,
        radio_address=building.radio,
        data_dir=work / f"fleet-{skip}",
    )
    cpu = time.process_time()
    report = asyncio.run(run_fleet(drivers, settings, clock=SystemClock()))
    return report, time.process_time() - cpu


def line(name: str, measured: tuple[FleetReport, float]) -> str:
    report, cpu = measured
    times = report.stop_seconds()
    p50, p95, p99 = (percentile(times, q) for q in (0.5, 0.95, 0.99))
    elapsed = report.elapsed(report.finished or 0.0)
    return (
        f"{name:<28} stops {len(times):>4}  {len(times) / elapsed:6.2f} stops/s"
        f"  p50 {_ms(p50)}  p95 {_ms(p95)}  p99 {_ms(p99)}"
        f"  unexpected {len(report.unexpected)}  not started {len(report.setup_failures)}"
        f"  driver-side CPU {cpu / max(1, report.drivers):.2f} s/driver"
    )


def _ms(seconds: float | None) -> str:
    return "    -" if seconds is None else f"{seconds * 1000:5.0f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,10,50,200", help="fleet sizes, comma separated")
    parser.add_argument("--buildings", type=int, default=200)
    parser.add_argument("--doors-per-building", type=int, default=5)
    parser.add_argument("--stops", type=int, default=3, help="stops per route")
    parser.add_argument("--idle", type=float, default=10.0, help="seconds of idle CPU measurement")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="city-bench-") as scratch:
        work = Path(scratch)
        small, city = work / "five-doors.toml", work / "city.toml"
        generate(small, 5, 1, 1, 5)  # five buildings of one door, one driver visiting each
        generate(city, args.buildings, args.doors_per_building, sum(sizes), args.stops)

        five = Building(small, work)
        five_report = fleet(five, small, 0, 1, work)
        five_stop = five.stop()
        print(f"5 doors: ready {five.ready_s:.1f} s, SIGTERM to exit {five_stop:.2f} s")
        print(line("1 driver, 5 doors", five_report))

        big = Building(city, work)
        doors = args.buildings * args.doors_per_building
        print(f"{doors} doors: ready {big.ready_s:.1f} s (target <= 5 s)")
        print(
            f"{doors} doors: idle CPU {big.idle_cpu(args.idle) * 100:.1f}% of a core over {args.idle:g} s"
            " (target <= 10%)"
        )
        skip, reports = 0, {}
        for size in sizes:
            reports[size] = fleet(big, city, skip, size, work)
            skip += size
            print(line(f"{size} driver(s), {doors} doors", reports[size]), flush=True)
            for driver, why in reports[size][0].setup_failures[:3]:
                print(f"    {driver} could not start: {why}")
        print(f"{doors} doors: SIGTERM to exit {big.stop():.2f} s (target <= 2 s)")
        if 1 in reports:
            one, base = (percentile(r.stop_seconds(), 0.5) for r, _ in (reports[1], five_report))
            if one is not None and base is not None:
                print(f"one driver's stop p50: {one / base:.2f}x the 5-door figure (target <= 1.5x)")
        print(f"load average: {Path('/proc/loadavg').read_text().strip()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
