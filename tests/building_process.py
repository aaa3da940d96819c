"""`mock-building up --headless` as a child process on free ports, for tests that drive it from outside.

The building's stdout is drained by a thread (its headless log must never fill the pipe); the
"ready" line sets an event, and the ready file then says where everything listens.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHILD_ENV = {**os.environ, "PYTHONPATH": str(REPO)}


def up_command(
    data_dir: Path,
    *,
    ready_file: Path | None = None,
    scenario: Path | None = None,
    fresh: bool = False,
) -> list[str]:
    """`mock-building up --headless` on free ports, as tests and benches start it in a child process."""
    command = [
        sys.executable,
        "-m",
        "mock_building.cli",
        "up",
        "--headless",
        "--port",
        "0",
        "--radio-port",
        "0",
    ]
    if fresh:
        command.append("--fresh")
    if scenario is not None:
        command += ["--scenario", str(scenario)]
    command += ["--data-dir", str(data_dir)]
    if ready_file is not None:
        command += ["--ready-file", str(ready_file)]
    return command


@dataclass(frozen=True)
class BuildingProcess:
    url: str
    radio: str
    labels: Path
    data_dir: Path
    process: subprocess.Popen[str]


@contextmanager
def building_up(data_dir: Path, *, ready_timeout: float = 60.0) -> Iterator[BuildingProcess]:
    """Start the demo building; on exit SIGTERM it and wait for its clean stop."""
    ready_file = data_dir.parent / f"{data_dir.name}.ready.json"
    process = subprocess.Popen(
        up_command(data_dir, ready_file=ready_file),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=CHILD_ENV,
    )
    ready = threading.Event()
    log: list[str] = []

    def drain() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            log.append(line)
            if line.strip() == "ready":
                ready.set()
        ready.set()  # exited: let the waiter see it

    threading.Thread(target=drain, daemon=True).start()
    try:
        if not ready.wait(ready_timeout) or process.poll() is not None:
            raise RuntimeError("the building did not come up:\n" + "".join(log))
        record = json.loads(ready_file.read_text(encoding="utf-8"))
        yield BuildingProcess(
            url=record["url"],
            radio=f"{record['radio']['host']}:{record['radio']['port']}",
            labels=Path(record["labels"]),
            data_dir=data_dir,
            process=process,
        )
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
