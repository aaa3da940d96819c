"""`driver-app demo`: a bundled mock building and the TUI attached to it, no hardware needed.

The building runs as a `mock-building up` child process (the driver app never imports the mock), on
free ports with fresh state in a temporary folder; quitting the TUI stops it. The demo driver is
signed in ahead of time into a memory-only credential store, which the app marks as DEMO.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from driver_app.core.workflow import DriverWorkflow

READY_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class DemoBuilding:
    access_url: str
    radio_address: str
    driver_id: str
    password: str
    labels: Path


class DemoError(Exception):
    """The bundled building could not be started; the message says why."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scenario", type=Path, help="mock building scenario (default: the bundled demo)")


def _mock_building(*args: str) -> list[str]:
    return [sys.executable, "-m", "mock_building.cli", *args]


def _wait_ready(process: subprocess.Popen[bytes], ready_file: Path, log: Path) -> dict:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not ready_file.exists():
        if process.poll() is not None:
            raise DemoError(f"the mock building exited early:\n{log.read_text(errors='replace')}")
        if time.monotonic() > deadline:
            raise DemoError(f"the mock building was not ready within {READY_TIMEOUT_S:.0f} s")
        time.sleep(0.05)
    return json.loads(ready_file.read_text())


@contextmanager
def running_building(workdir: Path, scenario: Path | None) -> Iterator[DemoBuilding]:
    """Start the building, render its parcel labels for the camera, and stop it on the way out."""
    ready_file, log = workdir / "ready.json", workdir / "building.log"
    scenario_args = ["--scenario", str(scenario)] if scenario else []
    command = _mock_building(
        "up", "--headless", "--fresh", "--data-dir", str(workdir / "building"),
        "--port", "0", "--radio-port", "0", "--ready-file", str(ready_file), *scenario_args,
    )  # fmt: skip
    with log.open("wb") as log_out:
        # this Python running the project's own CLI, with arguments built here (no shell)
        process = subprocess.Popen(command, stdout=log_out, stderr=subprocess.STDOUT)  # noqa: S603
    try:
        ready = _wait_ready(process, ready_file, log)
        labels = workdir / "labels"
        subprocess.run(  # noqa: S603 (same: our own CLI, no shell)
            _mock_building("labels", "--out", str(labels), *scenario_args),
            check=True,
            capture_output=True,
        )
        radio = ready["radio"]
        yield DemoBuilding(
            access_url=ready["url"],
            radio_address=f"{radio['host']}:{radio['port']}",
            driver_id=ready["driver"]["id"],
            password=ready["driver"]["password"],
            labels=labels,
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def run(args: argparse.Namespace) -> int:
    from driver_app.adapters.camera_source import camera_factory
    from driver_app.adapters.clock import SystemClock
    from driver_app.adapters.credentials_memory import MemoryCredentialStore
    from driver_app.factory import build_workflow
    from driver_app.logs import current_log_file
    from driver_app.settings import BleMode, load_settings
    from driver_app.tui import create_app

    with tempfile.TemporaryDirectory(prefix="lobbykey-demo-") as tmp:
        workdir = Path(tmp)
        print("Starting the demo building…", file=sys.stderr)
        try:
            with running_building(workdir, args.scenario) as building:
                settings = load_settings(
                    access_url=building.access_url,
                    ble_mode=BleMode.SIM,
                    radio_address=building.radio_address,
                    camera_source=str(building.labels),
                    data_dir=workdir / "app",
                )
                credentials, clock = MemoryCredentialStore(), SystemClock()
                asyncio.run(_sign_in(build_workflow(settings, credentials=credentials), building))
                app = create_app(
                    lambda on_change: build_workflow(
                        settings, credentials=credentials, on_change=on_change, clock=clock
                    ),
                    settings,
                    clock=clock,
                    camera=camera_factory(settings.camera_source),
                    demo=True,
                    log_file=current_log_file(),
                )
                app.run()
        except (DemoError, subprocess.CalledProcessError) as err:
            print(f"driver-app demo: {err}", file=sys.stderr)
            return 1
    return 0


async def _sign_in(workflow: DriverWorkflow, building: DemoBuilding) -> None:
    """Leave a refresh token in the shared memory store; the app resumes that session on start."""
    try:
        await workflow.sign_in(building.driver_id, building.password)
    finally:
        await workflow.aclose()
