"""The orchestrator behind `mock-building up`: one process, one asyncio loop, a whole building.

Start order: the service app (its database seeded from the scenario), the radio, every door,
then HTTP starts listening, so once the URL answers every door is on the air (on the emulated
radio a door powers on when a handheld in range first scans for it). Stop order: HTTP
first (no new grants), then the doors (their receipts are on disk), then the radio.

Readiness is announced by a "ready" line on stdout and, when asked, an atomically written JSON
ready file: scripts wait for it instead of sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import signal
import sys
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import TextIO, TypeVar

from rich.live import Live

from mock_building.building.day_clock import DayShiftedClock
from mock_building.building.doors import BuildingDoor, start_doors
from mock_building.building.live_view import BuildingView, HeadlessLog, literal, make_console, render_view
from mock_building.building.service import ServicePart
from mock_building.door import DoorError
from mock_building.errors import CodedError
from mock_building.radio import RadioError, VirtualRadio
from mock_building.scenario.loader import Driver, Scenario, default_scenario_path, load_scenario
from mock_building.service.api_dev_labels import LabelShelf
from mock_building.service.clock import Clock, SystemClock

logger = logging.getLogger(__name__)

__all__ = [
    "BuildingError",
    "BuildingMode",
    "BuildingSettings",
    "RunningBuilding",
    "banner",
    "demo_driver",
    "run_building",
    "start_building",
    "stop_signals",
]

_REFRESH_S = 0.25
T = TypeVar("T")


class BuildingError(CodedError):
    """A part of the building could not start; `reason` says which way (e.g. port_unavailable)."""


class BuildingMode(StrEnum):
    DEMO = "demo"
    PRODUCTION = "production"


@dataclass(frozen=True)
class BuildingSettings:
    """Everything `mock-building up` takes from its command line."""

    data_dir: Path
    scenario_path: Path | None = None
    """None: the bundled demo scenario."""
    host: str = "127.0.0.1"
    port: int = 8750
    radio_port: int = 8751
    fresh: bool = False
    """Wipe `data_dir` first (service database and every door's replay cache and receipts)."""
    today: date | None = None
    """The day "today" routes run on; None: the scenario time zone's current date."""
    ready_file: Path | None = None
    mode: BuildingMode = BuildingMode.DEMO
    """`demo` serves the parcel labels to signed-in drivers (GET /v1/dev/labels); `production` does not."""
    gap_alert_after_s: int = 15 * 60
    """A receipt gap still open this long is a building alert."""
    grant_receipt_margin_s: int = 15 * 60
    """A grant no receipt quotes this long after its expiry is a building alert."""
    database: str | None = None
    """A `postgresql://` URL for the access service; None: a SQLite file in `data_dir`."""


@dataclass
class RunningBuilding:
    """A building that is up: where to reach it, and how to stop it."""

    scenario: Scenario
    title: str
    service: ServicePart
    radio: VirtualRadio
    radio_host: str
    radio_port: int
    labels: LabelShelf
    """The scenario's parcel labels, rendered after start or on request (GET /v1/dev/labels)."""
    doors: dict[str, BuildingDoor] = field(default_factory=dict)
    label_renderer: asyncio.subprocess.Process | None = None
    """`mock-building labels` filling `labels_dir` in the background (None: not started)."""

    @property
    def labels_dir(self) -> Path:
        return self.labels.folder

    @property
    def url(self) -> str:
        return self.service.url

    @property
    def radio_address(self) -> str:
        return f"{self.radio_host}:{self.radio_port}"

    async def view(self) -> BuildingView:
        audit, alerts, reachable = await self.service.records()
        return BuildingView(
            self.title,
            tuple(d.status() for d in self.doors.values()),
            audit,
            alerts=alerts,
            service_faults=self.service.active_faults(),
            database_reachable=reachable,
        )

    async def labels_rendered(self) -> None:
        """Wait until the background renderer has filled `labels_dir`."""
        if self.label_renderer is not None:
            await self.label_renderer.wait()

    async def stop(self) -> None:
        """HTTP first (no new grants), then doors (stop advertising, close stores), then the radio."""
        await self.service.stop()
        if self.label_renderer is not None and self.label_renderer.returncode is None:
            self.label_renderer.terminate()  # what it wrote is whole (atomic); the rest renders next time
            await self.label_renderer.wait()
        # Together: a city's thousand doors each wait on a few HCI round trips to stop advertising
        # (one after another, a thousand doors took seconds). A door that fails to stop does not
        # keep the others or the radio up; its error is raised once all are down.
        stopped = await asyncio.gather(*(door.stop() for door in self.doors.values()), return_exceptions=True)
        await self.radio.close()
        for failure in (result for result in stopped if isinstance(result, BaseException)):
            raise failure


async def start_building(settings: BuildingSettings, *, base_clock: Clock | None = None) -> RunningBuilding:
    """Bring every part up on the running loop; on failure, what already started is stopped.

    The service app is built first, the radio and doors come up next, the admin routes for door
    faults are added, and only then does uvicorn start listening: once the URL answers, every
    door is on the air. The labels are rendered after that, in the background.
    """
    scenario_path = settings.scenario_path or default_scenario_path()
    scenario = load_scenario(scenario_path)
    clock = DayShiftedClock(base_clock or SystemClock(), settings.today, scenario.zone)
    if settings.fresh and settings.data_dir.exists():
        shutil.rmtree(settings.data_dir)
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:  # e.g. a path under a regular file: one line, not a traceback
        raise BuildingError("data_dir_unusable", f"--data-dir {settings.data_dir}: {err.strerror}") from err
    service = await ServicePart.open(
        scenario,
        settings.data_dir,
        clock,
        database=settings.database,
        gap_alert_after_s=settings.gap_alert_after_s,
        grant_receipt_margin_s=settings.grant_receipt_margin_s,
    )
    radio = VirtualRadio()
    doors: dict[str, BuildingDoor] = {}
    labels = LabelShelf(scenario, settings.data_dir)
    labels.clear()
    try:
        radio_port = await _listening(
            radio.serve(settings.host, settings.radio_port), "radio", settings.radio_port
        )
        doors.update(await start_doors(scenario, radio, settings.data_dir / "doors", clock.unix))
        service.mount_door_admin({door_id: door.faults for door_id, door in doors.items()})
        if settings.mode is BuildingMode.DEMO:  # QA aids: labels and expectations, never in production
            service.mount_dev_routes(labels)
        await _listening(service.serve(settings.host, settings.port), "access service", settings.port)
    except (DoorError, RadioError) as err:
        await RunningBuilding(scenario, "", service, radio, settings.host, 0, labels, doors).stop()
        raise BuildingError(str(err.reason), str(err)) from err
    except BaseException:
        await RunningBuilding(scenario, "", service, radio, settings.host, 0, labels, doors).stop()
        raise
    return RunningBuilding(
        scenario,
        scenario_path.name,
        service,
        radio,
        settings.host,
        radio_port,
        labels,
        doors,
        await _render_labels_in_background(scenario_path, labels),
    )


async def _render_labels_in_background(scenario_path: Path, labels: LabelShelf) -> asyncio.subprocess.Process:
    """`mock-building labels` into the shelf's folder, in a child process at the lowest CPU
    priority: it neither holds this loop's GIL nor competes with the building for a core."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mock_building.cli",
        "labels",
        "--scenario",
        str(scenario_path),
        "--out",
        str(labels.folder),
        stdout=asyncio.subprocess.DEVNULL,
        preexec_fn=_lowest_priority,
    )


def _lowest_priority() -> None:
    os.nice(19)


async def _listening(starting: Awaitable[T], what: str, port: int) -> T:
    try:
        return await starting
    except OSError as err:
        raise BuildingError(
            "port_unavailable", f"the {what} cannot listen on port {port}: {err.strerror}"
        ) from err


def demo_driver(scenario: Scenario) -> Driver | None:
    """The driver to advertise: the one called "demo", else the scenario's first."""
    return next(
        (d for d in scenario.drivers if d.id == "demo"), scenario.drivers[0] if scenario.drivers else None
    )


def banner(building: RunningBuilding) -> list[str]:
    """What `up` prints once everything listens: where to point a driver app, and who to sign in as."""
    scenario = building.scenario
    driver = demo_driver(scenario)
    lines = [
        f"LobbyKey mock building {literal(building.title)}",
        f"  access service : {building.url}  (OpenAPI {building.url}/openapi.json)",
        f"  radio attach   : {building.radio_address}  (tcp-client:{building.radio_address})",
    ]
    if driver is not None:
        carrier = scenario.carrier(driver.carrier).name
        lines.append(
            f"  demo driver    : {literal(driver.id)} / {literal(driver.password)}  ({literal(carrier)})"
        )
    lines.append(
        f"  labels         : {literal(str(building.labels_dir))}  (also GET {building.url}/v1/dev/labels)"
    )
    lines.append(f"  doors          : {', '.join(literal(d) for d in building.doors) or '-'}")
    return lines


def _write_ready_file(path: Path, building: RunningBuilding) -> None:
    driver = demo_driver(building.scenario)
    record = {
        "pid": os.getpid(),
        "url": building.url,
        "openapi": f"{building.url}/openapi.json",
        "radio": {"host": building.radio_host, "port": building.radio_port},
        "driver": {"id": driver.id, "password": driver.password} if driver else None,
        "doors": list(building.doors),
        "labels": str(building.labels_dir),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(record, indent=2), encoding="utf-8")
    partial.replace(path)


@contextlib.contextmanager
def stop_signals() -> Iterator[asyncio.Event]:
    """An event that SIGINT or SIGTERM sets while the block runs (on the running loop); the handlers go after."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        yield stop
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


async def run_building(settings: BuildingSettings, *, live: bool, out: TextIO = sys.stdout) -> int:
    """The `up` command: start, announce, show the building until SIGINT/SIGTERM, stop cleanly."""
    with stop_signals() as stop:
        building = await start_building(settings)
        logger.info(
            "building up: access service %s, radio %s, %d doors",
            building.url,
            building.radio_address,
            len(building.doors),
        )
        try:
            for line in banner(building):
                out.write(line + "\n")
            if settings.ready_file is not None:
                _write_ready_file(settings.ready_file, building)
            out.write("ready\n")
            out.flush()
            await (_show_live(building, stop, out) if live else _log_headless(building, stop, out))
        finally:
            await building.stop()
            if settings.ready_file is not None:
                settings.ready_file.unlink(missing_ok=True)
    out.write("stopped\n")
    out.flush()
    return 0


async def _until(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def _log_headless(building: RunningBuilding, stop: asyncio.Event, out: TextIO) -> None:
    log = HeadlessLog(out)
    while not stop.is_set():
        log.update(await building.view())
        await _until(stop, _REFRESH_S)


async def _show_live(building: RunningBuilding, stop: asyncio.Event, out: TextIO) -> None:
    with Live(render_view(await building.view()), console=make_console(out), auto_refresh=False) as live:
        while not stop.is_set():
            live.update(render_view(await building.view()), refresh=True)
            await _until(stop, _REFRESH_S)
