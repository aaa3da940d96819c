"""Several worker processes on one listening socket: all accept, Nagle is off, none outlives its parent."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from mock_building.building.workers import WorkerApp, WorkerError, WorkerPool, start_workers
from tests.accepted_sockets import accepted_by, nodelay_of
from tests.processes import alive, children_of, command_line, wait_gone
from tests.raw_http import RawConnection

REPO = Path(__file__).resolve().parents[2]
PID_APP = WorkerApp("tests.worker_apps:pid_app")


@pytest.fixture(autouse=True)
def _importable_tests(monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers import their factory from `tests`, wherever pytest was started."""
    monkeypatch.setenv("PYTHONPATH", str(REPO))


def _workers_of_this_process() -> list[int]:
    """Our children that run a worker (whatever their pid: a failed start reports none)."""
    return [pid for pid in children_of(os.getpid()) if b"mock_building.building.workers" in command_line(pid)]


async def _until_both_answer(pool: WorkerPool) -> set[int]:
    """New connections until each worker has accepted one; every accepted socket is checked for NODELAY."""
    connections = []
    served_by: set[int] = set()
    try:
        for _ in range(500):
            connection = await RawConnection.open(pool.url)
            connections.append(connection)
            status, answered = await connection.request("GET", "/")
            assert status == 200
            pid, fd = accepted_by(connection.client_address, connection.server_address, pool.pids)
            assert pid == int(answered)  # the worker that accepted the connection is the one that served it
            assert nodelay_of(pid, fd), f"worker {pid} accepted a connection without TCP_NODELAY"
            served_by.add(pid)
            if served_by == set(pool.pids):
                break
    finally:
        for connection in connections:
            connection.close()
    return served_by


async def test_both_workers_accept_on_one_port_with_nagle_off_and_stop_together() -> None:
    pool = await start_workers(PID_APP, host="127.0.0.1", port=0, count=2)
    try:
        assert len(set(pool.pids)) == 2 and os.getpid() not in pool.pids
        assert await _until_both_answer(pool) == set(pool.pids)
    finally:
        await pool.stop()
    assert not alive(pool.pids)


async def test_a_worker_that_dies_stops_the_others_and_is_reported() -> None:
    pool = await start_workers(PID_APP, host="127.0.0.1", port=0, count=2)
    victim, survivor = pool.pids
    os.kill(victim, signal.SIGKILL)
    with pytest.raises(WorkerError, match=f"pid {victim}") as failure:
        await asyncio.wait_for(pool.supervise(asyncio.Event()), 120)
    assert failure.value.reason == "worker_exited"
    assert not alive((victim, survivor))


async def test_a_stop_request_ends_supervision_and_every_worker() -> None:
    pool = await start_workers(PID_APP, host="127.0.0.1", port=0, count=2)
    stop = asyncio.Event()
    supervising = asyncio.create_task(pool.supervise(stop))
    stop.set()
    await asyncio.wait_for(supervising, 120)  # returns: a requested stop is no error
    assert not alive(pool.pids)


async def test_a_worker_that_cannot_build_its_app_fails_the_start_and_leaves_nothing() -> None:
    with pytest.raises(WorkerError, match="before it accepted connections") as failure:
        await start_workers(
            WorkerApp("tests.worker_apps:pid_app", {"refuse": True}), host="127.0.0.1", port=0, count=2
        )
    assert failure.value.reason == "worker_failed"
    assert not _workers_of_this_process()


def test_no_worker_outlives_a_parent_killed_outright() -> None:
    parent = subprocess.Popen(
        [sys.executable, "-m", "tests.worker_apps"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        assert parent.stdout is not None
        pids = tuple(int(pid) for pid in parent.stdout.readline().split())
        assert len(pids) == 2 and alive(pids) == set(pids)
    finally:
        parent.kill()
        parent.wait()
    assert not wait_gone(pids)
