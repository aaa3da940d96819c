"""`mock-building up --headless` and `mock-building serve` as child processes on free ports, for tests
and benches that drive them from outside.

A child's stdout is drained by a thread (its log must never fill the pipe); the "ready" line sets
an event. `up`'s ready file then says where everything listens; `serve` prints it.
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
    process, ready, log, _ = _started(up_command(data_dir, ready_file=ready_file))
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
        _terminate(process, timeout=30)


def _started(
    command: list[str],
) -> tuple[subprocess.Popen[str], threading.Event, list[str], threading.Thread]:
    """The child, with a thread reading its output into a list; the event is set on "ready" or at exit."""
    process = subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=CHILD_ENV
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

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    return process, ready, log, reader


def _terminate(process: subprocess.Popen[str], timeout: float = 60.0) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
    return process.wait()


@dataclass(frozen=True)
class ServiceProcess:
    """`mock-building serve` running: its URL, its worker pids, its output so far."""

    url: str
    worker_pids: tuple[int, ...]
    process: subprocess.Popen[str]
    log: list[str]
    reader: threading.Thread

    def output(self, timeout: float = 60.0) -> str:
        """Everything it printed, read to the end (call once it has exited)."""
        self.reader.join(timeout)
        return "".join(self.log)

    def stop(self) -> int:
        """SIGTERM the parent and wait for its clean stop; its exit code."""
        return _terminate(self.process)


def serve_command(
    scenario: Path,
    database: str,
    *,
    workers: int = 1,
    grant_rate_limit: int | None = None,
    db_connections: int | None = None,
) -> list[str]:
    """`mock-building serve` on a free port."""
    command = [sys.executable, "-m", "mock_building.cli", "serve", "--scenario", str(scenario)]
    command += ["--database", database, "--workers", str(workers), "--port", "0"]
    if grant_rate_limit is not None:
        command += ["--grant-rate-limit", str(grant_rate_limit)]
    if db_connections is not None:
        command += ["--db-connections", str(db_connections)]
    return command


@contextmanager
def service_serving(
    scenario: Path,
    database: str,
    *,
    workers: int = 1,
    grant_rate_limit: int | None = None,
    db_connections: int | None = None,
    ready_timeout: float = 120.0,
) -> Iterator[ServiceProcess]:
    """Start `mock-building serve`; on exit SIGTERM it and wait for it (and so its workers) to stop."""
    process, ready, log, reader = _started(
        serve_command(
            scenario,
            database,
            workers=workers,
            grant_rate_limit=grant_rate_limit,
            db_connections=db_connections,
        )
    )
    try:
        if not ready.wait(ready_timeout) or "ready\n" not in log:
            raise RuntimeError("the access service did not come up:\n" + "".join(log))
        url = next(line.split()[3] for line in log if line.startswith("LobbyKey access service:"))
        pids = next(line.split("(pids", 1)[1] for line in log if line.lstrip().startswith("workers"))
        yield ServiceProcess(
            url, tuple(int(pid) for pid in pids.strip(" )\n").split(", ")), process, log, reader
        )
    finally:
        _terminate(process)
