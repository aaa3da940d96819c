"""The one place the app is built, for the CLI and the tests alike."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from driver_app.core.ports import Clock
from driver_app.settings import Settings
from driver_app.tui.app import DriverApp
from driver_app.tui.contract import CameraFactory, WorkflowFactory

__all__ = ["create_app"]


def create_app(
    workflow_factory: WorkflowFactory,
    settings: Settings,
    *,
    clock: Clock,
    camera: CameraFactory | None = None,
    key_clock: Callable[[], float] = time.monotonic,
    demo: bool = False,
    log_file: Path | None = None,
) -> DriverApp:
    """`clock` is the one the workflow was wired with (relock countdown on its monotonic scale);
    `key_clock` times keystrokes for wedge-scanner detection (tests pass a fake one); `demo` marks the
    bundled demo (only it is labelled DEMO); `log_file` is where this process logs (diagnostics shows it)."""
    return DriverApp(
        workflow_factory,
        settings,
        clock=clock,
        camera=camera,
        key_clock=key_clock,
        demo=demo,
        log_file=log_file,
    )
