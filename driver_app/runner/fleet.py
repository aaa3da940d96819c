"""Many simulated drivers in one process, each walking its own route through the real workflow.

Every driver has its own workflow core (the one the TUI uses), HTTP client, handheld key, outbox
and emulated handheld on the building's radio (one attachment each: one radio controller serves
one app). They run concurrently on one event loop; stops read barcodes as a keyboard-wedge
scanner would, so the CPU goes to the protocol, HTTP and BLE, not to decoding images. The fleet
reports throughput, stop-time percentiles, outcomes by reason and every unexpected outcome.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from driver_app.adapters.credentials_memory import MemoryCredentialStore
from driver_app.core.display_text import printable
from driver_app.core.errors import WorkflowError
from driver_app.core.ports import Clock
from driver_app.factory import build_workflow
from driver_app.runner.report import StopResult, percentile
from driver_app.runner.route_runner import RunPlan, run_route
from driver_app.runner.scenario_file import FleetDriver
from driver_app.settings import Settings

PROGRESS_EVERY_S = 1.0
DEFAULT_SPAWN_RATE = 5.0
"""Drivers starting per second: a depot's drivers do not all sign in within the same second, and
the service's password check (scrypt) would queue a few hundred sign-ins past their timeout."""
SETUP_ATTEMPTS = 3
"""Sign-in and route loading are tried this often when the service was busy (retryable errors),
a second apart and then two, as a driver would press "try again"."""


@dataclass
class FleetReport:
    """What a fleet run did, filled in as it goes (the progress line reads it live)."""

    drivers: int
    started: float
    finished: float | None = None
    results: list[tuple[str, StopResult]] = field(default_factory=list)
    """(driver id, stop result) in completion order."""
    setup_failures: list[tuple[str, str]] = field(default_factory=list)
    """(driver id, why it could not start): sign-in or route loading failed."""
    busy: int = 0

    def elapsed(self, now: float) -> float:
        return (self.finished or now) - self.started

    @property
    def unexpected(self) -> list[tuple[str, StopResult]]:
        return [(driver, r) for driver, r in self.results if not r.passed]

    def stop_seconds(self) -> list[float]:
        return [r.elapsed for _, r in self.results]

    @property
    def passed(self) -> bool:
        return bool(self.results) and not self.unexpected and not self.setup_failures

    def progress_line(self, now: float) -> str:
        elapsed = self.elapsed(now)
        rate = len(self.results) / elapsed if elapsed > 0 else 0.0
        return (
            f"fleet: {self.busy}/{self.drivers} drivers on the road, {len(self.results)} stops done"
            f" ({len(self.unexpected)} unexpected), {rate:.1f} stops/s, {elapsed:.0f} s"
        )

    def table(self, now: float) -> list[str]:
        elapsed = self.elapsed(now)
        times = self.stop_seconds()
        rate = len(times) / elapsed if elapsed > 0 else 0.0
        outcomes = Counter(a.outcome for _, r in self.results for a in r.attempts)
        lines = [
            f"drivers          {self.drivers} ({len(self.setup_failures)} could not start)",
            f"stops            {len(times)} in {elapsed:.1f} s = {rate:.2f} stops/s",
            "stop time        p50 {} | p95 {} | p99 {}".format(
                *(_ms(percentile(times, q)) for q in (0.5, 0.95, 0.99))
            ),
            "outcomes         " + (", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())) or "-"),
            f"unexpected       {len(self.unexpected)}",
        ]
        lines += [
            printable(f"  {driver} {r.stop_id}: {r.outcome} (expected {r.expected_text}) {r.detail}")
            for driver, r in self.unexpected
        ]
        lines += [printable(f"  {driver} could not start: {why}") for driver, why in self.setup_failures]
        return lines


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.0f} ms"


async def run_fleet(
    drivers: Sequence[FleetDriver],
    base: Settings,
    *,
    clock: Clock,
    duration: float | None = None,
    spawn_rate: float = DEFAULT_SPAWN_RATE,
    progress: Callable[[str], None] | None = None,
) -> FleetReport:
    """Run every driver's route concurrently, starting `spawn_rate` drivers a second; after
    `duration` seconds the unfinished ones are stopped."""
    report = FleetReport(drivers=len(drivers), started=clock.monotonic())

    async def drive(index: int, driver: FleetDriver) -> None:
        await asyncio.sleep(index / spawn_rate)
        report.busy += 1
        try:
            await drive_route(
                driver,
                base,
                clock=clock,
                on_stop=lambda result: report.results.append((driver.driver_id, result)),
            )
        except WorkflowError as err:
            report.setup_failures.append((driver.driver_id, f"{err.title} ({err.reason})"))
        finally:
            report.busy -= 1

    async def show() -> None:
        while progress is not None:
            await asyncio.sleep(PROGRESS_EVERY_S)
            progress(report.progress_line(clock.monotonic()))

    ticker = asyncio.ensure_future(show())
    try:
        tasks = [asyncio.ensure_future(drive(i, d)) for i, d in enumerate(drivers)]
        _done, pending = await asyncio.wait(tasks, timeout=duration)
        for task in pending:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticker
    report.finished = clock.monotonic()
    if progress is not None:  # the last word, even for a run shorter than one tick
        progress(report.progress_line(report.finished))
    return report


async def drive_route(
    driver: FleetDriver, base: Settings, *, clock: Clock, on_stop: Callable[[StopResult], None]
) -> list[StopResult]:
    """One simulated driver's day: its own workflow, handheld, key and outbox (under
    `base.data_dir/<driver id>`). Raises `WorkflowError` when signing in or loading the route fails."""
    settings = base.model_copy(update={"data_dir": base.data_dir / driver.driver_id})
    workflow = build_workflow(
        settings, credentials=MemoryCredentialStore(f"fleet driver {driver.driver_id}"), clock=clock
    )
    plan = RunPlan(driver.driver_id, driver.password, None, driver.expectations)
    try:
        attempt = 1
        while True:
            try:
                return await run_route(workflow, plan, clock=clock, emit=_quiet, on_stop=on_stop)
            except WorkflowError as err:
                if not err.retryable or attempt >= SETUP_ATTEMPTS:
                    raise
            await asyncio.sleep(attempt)
            attempt += 1
    finally:
        await workflow.aclose()


def _quiet(_: str) -> None:
    """Per-stop lines of 200 drivers would drown the progress line; the table has the totals."""
