"""Several worker processes on one port: the kernel spreads connections over them, Nagle is off on
every accepted connection, a taken port is refused, and no worker outlives its parent.

Linux gives each worker a SO_REUSEPORT socket of its own; the fallback (one inherited socket) is
forced by telling the parent that SO_REUSEPORT does not balance.
"""

from __future__ import annotations

import asyncio
import errno
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from mock_building.building import workers
from mock_building.building.serving import reuse_port_balances
from mock_building.building.workers import WorkerApp, WorkerError, WorkerPool, start_workers
from tests.accepted_sockets import accepted_by, nodelay_of
from tests.processes import alive, children_of, command_line, wait_gone
from tests.raw_http import RawConnection

REPO = Path(__file__).resolve().parents[2]
PID_APP = WorkerApp("tests.worker_apps:pid_app")
_BALANCED = pytest.mark.skipif(not reuse_port_balances(), reason="SO_REUSEPORT does not balance here")


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


@pytest.mark.parametrize(
    "socket_per_worker",
    [pytest.param(True, marks=_BALANCED, id="reuse-port"), pytest.param(False, id="shared")],
)
async def test_both_workers_accept_on_one_port_with_nagle_off_and_stop_together(
    socket_per_worker: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workers, "reuse_port_balances", lambda: socket_per_worker)
    pool = await start_workers(PID_APP, host="127.0.0.1", port=0, count=2)
    try:
        assert len(set(pool.pids)) == 2 and os.getpid() not in pool.pids
        mode = b"--reuse-port" if socket_per_worker else b"--socket-fd"
        assert all(mode in command_line(pid) for pid in pool.pids)
        assert await _until_both_answer(pool) == set(pool.pids)
    finally:
        await pool.stop()
    assert not alive(pool.pids)


@_BALANCED
async def test_connections_opened_at_once_are_spread_over_both_workers() -> None:
    """20 keep-alive connections at once: SO_REUSEPORT hashes each to a worker (all on one: p = 2**-19).

    On one shared socket whichever worker wakes first takes what is queued: bench/grant_load.py saw
    0+10 at c=10, and this test failed there in 1 of 3 tries.
    """
    pool = await start_workers(PID_APP, host="127.0.0.1", port=0, count=2)
    connections = await asyncio.gather(*(RawConnection.open(pool.url) for _ in range(20)))
    try:
        answers = await asyncio.gather(*(connection.request("GET", "/") for connection in connections))
        holders = [
            accepted_by(connection.client_address, connection.server_address, pool.pids)
            for connection in connections
        ]
        assert [(200, pid) for pid, _ in holders] == list(answers)  # each served where it was accepted
        assert all(nodelay_of(pid, fd) for pid, fd in holders)
        per_worker = {pid: sum(holder == pid for holder, _ in holders) for pid in pool.pids}
        assert min(per_worker.values()) >= 1, per_worker
    finally:
        for connection in connections:
            connection.close()
        await pool.stop()


@_BALANCED
async def test_a_port_someone_listens_on_is_refused_even_with_so_reuseport() -> None:
    """Workers join no stranger's SO_REUSEPORT group: the port is reserved by a plain bind first."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(OSError, match="in use") as refused:
            await start_workers(PID_APP, host="127.0.0.1", port=taken.getsockname()[1], count=2)
    assert refused.value.errno == errno.EADDRINUSE
    assert not _workers_of_this_process()


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
