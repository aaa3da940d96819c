"""Stop time on the emulated building: package scanned → door open, through the real driver stack.

Starts the demo mock building in this process (access service on loopback, virtual radio, BLE
doors), renders its labels, and runs the headless route runner over a fresh building RUNS times.
Prints p50/p95 of scan→open over every stop and the median time of each phase. The handheld side
is the product: httpx, bleak with the bumble backend over the radio's TCP attachment, the scan
pipeline on the label PNGs. Run: `python bench/route_bench.py [RUNS]` (default 3, ~15 s).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from driver_app.adapters.clock import SystemClock
from driver_app.adapters.credentials_memory import MemoryCredentialStore
from driver_app.core.state import SCAN_TO_OPEN, StopPhase
from driver_app.factory import build_workflow
from driver_app.runner.report import percentile
from driver_app.runner.route_runner import RunPlan, run_route
from driver_app.settings import BleMode, Settings
from mock_building.building.running import BuildingSettings, start_building
from mock_building.scenario.labels import write_labels
from mock_building.scenario.loader import default_scenario_path, load_scenario


async def one_run(scratch: Path, labels: Path) -> tuple[list[float], dict[StopPhase, list[float]]]:
    building = await start_building(BuildingSettings(data_dir=scratch / "building", port=0, radio_port=0))
    clock = SystemClock()
    settings = Settings(
        access_url=building.url,
        ble_mode=BleMode.SIM,
        radio_address=building.radio_address,
        data_dir=scratch / "app",
    )
    workflow = build_workflow(settings, credentials=MemoryCredentialStore(), clock=clock)
    try:
        results = await run_route(
            workflow, RunPlan("demo", "demo-password", labels, {}), clock=clock, emit=lambda _: None
        )
        phases: dict[StopPhase, list[float]] = defaultdict(list)
        for stop in workflow.state.stops.values():
            for timing in stop.timings:
                phases[timing.phase].append(timing.seconds)
    finally:
        await workflow.aclose()
        await building.stop()
    failed = [r for r in results if not r.passed]
    if failed:
        raise SystemExit(f"stops did not deliver: {failed}")
    return [r.seconds_to_open for r in results if r.seconds_to_open is not None], phases


async def main(runs: int) -> None:
    times: list[float] = []
    phases: dict[StopPhase, list[float]] = defaultdict(list)
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        labels = Path(tmp) / "labels"
        write_labels(load_scenario(default_scenario_path()), labels)
        for run in range(runs):
            run_times, run_phases = await one_run(Path(tmp) / f"run{run}", labels)
            times += run_times
            for phase, values in run_phases.items():
                phases[phase] += values
    ms = lambda s: f"{s * 1000:.0f} ms"  # noqa: E731
    print(f"route bench: {runs} runs × demo route, {len(times)} stops, {time.monotonic() - started:.1f} s")
    print(f"scan→open p50 {ms(percentile(times, 0.5))}, p95 {ms(percentile(times, 0.95))}")
    for phase in SCAN_TO_OPEN:
        if phases[phase]:
            print(f"  {phase.value:<17} median {ms(statistics.median(phases[phase]))}")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 3))
