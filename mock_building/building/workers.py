"""Serve one ASGI app from N worker processes on one port, the kernel spreading connections over them.

    pool = await start_workers(WorkerApp("pkg.module:factory", {"path": "x"}), host=HOST, port=0, count=2)
    pool.url, pool.pids                  # by now every worker accepts connections
    await pool.supervise(stop)           # until `stop` is set, or a worker dies (WorkerError)

The parent binds host:port first (`serving.listening_socket`: port 0 picks a free port, a port
that anything listens on already fails here) and starts each worker as
`python -m mock_building.building.workers`. On Linux each worker binds a SO_REUSEPORT socket of its
own to that port and listens on it: the kernel hashes every new connection to one of the workers'
sockets, so N idle workers share the load. (One socket shared by all, the fallback elsewhere, hands
a connection to whichever worker wakes first: measured, one worker of two held all 10 of 10
connections.) The parent's socket is never listened on in that case, so it takes no connections; it
only holds the port until every worker listens. Without SO_REUSEPORT the parent listens on its
socket and the workers inherit it (`pass_fds`). Either way every accepted connection gets
TCP_NODELAY. A worker imports the factory, an async context manager function that builds the app
and closes what the app opened once serving ends, and serves it with uvicorn on uvicorn's preferred
loop (uvloop when installed). It writes "ready" on its stdout once it accepts.

The factory's options reach the worker as one JSON line on its stdin, not on its command line
(a database URL may hold a password, and argv is world-readable). The parent keeps that stdin
open: a worker stops on SIGTERM/SIGINT or when it reads EOF, so a parent killed outright leaves no
worker serving. Workers run in their own session: a terminal's Ctrl-C reaches only the parent,
which stops them all in one way.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import json
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from starlette.types import ASGIApp
from uvicorn.loops.auto import auto_loop_factory

from mock_building.building.collector import collected_on_a_timer
from mock_building.building.serving import listening_socket, reuse_port_balances, serve_on_socket
from mock_building.errors import CodedError

__all__ = ["AppFactory", "WorkerApp", "WorkerError", "WorkerPool", "start_workers"]

logger = logging.getLogger(__name__)

AppFactory = Callable[..., AbstractAsyncContextManager[ASGIApp]]
_READY = b"ready\n"
_BACKLOG = 2048
_STOP_GRACE_S = 30.0


class WorkerError(CodedError):
    """A worker did not start (`worker_failed`, `worker_not_ready`) or ended by itself (`worker_exited`)."""


@dataclass(frozen=True)
class WorkerApp:
    """What every worker serves: `factory` ("module:function") called with `options` (JSON values)."""

    factory: str
    options: Mapping[str, Any] = field(default_factory=dict)


class WorkerPool:
    """Running workers on one port: where they listen, who they are, and how to end them."""

    def __init__(self, url: str, processes: Sequence[asyncio.subprocess.Process]) -> None:
        self.url = url
        self._processes = tuple(processes)

    @property
    def pids(self) -> tuple[int, ...]:
        return tuple(process.pid for process in self._processes)

    async def supervise(self, stop: asyncio.Event) -> None:
        """Until `stop` is set; if a worker ends first, the others are stopped and WorkerError raised."""
        stopping = asyncio.create_task(stop.wait())
        ended = {asyncio.create_task(process.wait()): index for index, process in enumerate(self._processes)}
        try:
            done, _ = await asyncio.wait({stopping, *ended}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (stopping, *ended):
                task.cancel()
        dead = sorted(ended[task] for task in done if task in ended)
        await self.stop()
        if dead and not stop.is_set():
            index = dead[0]
            process = self._processes[index]
            raise WorkerError(
                "worker_exited",
                f"worker {index + 1} (pid {process.pid}) exited with code {process.returncode}; "
                f"the other workers were stopped",
            )

    async def stop(self) -> None:
        """SIGTERM every worker and wait for its graceful stop; SIGKILL one that outlasts the grace."""
        await asyncio.gather(*(_end(process) for process in self._processes))


async def start_workers(
    app: WorkerApp, *, host: str, port: int, count: int, ready_timeout_s: float = 120.0
) -> WorkerPool:
    """Bind host:port (0 = any free port), start `count` workers, return once each of them accepts."""
    if count < 1:
        raise ValueError("at least one worker")
    sock = listening_socket(host, port)
    bound_port = sock.getsockname()[1]
    processes: list[asyncio.subprocess.Process] = []
    try:
        inherited: tuple[int, ...]
        if reuse_port_balances():
            where, inherited = ["--reuse-port", f"{host}:{bound_port}"], ()
        else:
            sock.listen(_BACKLOG)
            where, inherited = ["--socket-fd", str(sock.fileno())], (sock.fileno(),)
        options = json.dumps(dict(app.options)).encode() + b"\n"
        for _ in range(count):
            processes.append(await _spawn(app.factory, options, where, inherited))
        try:
            await asyncio.wait_for(
                asyncio.gather(*(_ready(index, process) for index, process in enumerate(processes))),
                ready_timeout_s,
            )
        except TimeoutError:
            raise WorkerError(
                "worker_not_ready",
                f"the workers did not all accept connections within {ready_timeout_s:.0f} s",
            ) from None
    except BaseException:
        await asyncio.gather(*(_end(process) for process in processes))
        raise
    finally:
        sock.close()  # every worker listens now, on its own socket or its own descriptor of this one
    return WorkerPool(f"http://{host}:{bound_port}", processes)


async def _spawn(
    factory: str, options: bytes, where: list[str], inherited: tuple[int, ...]
) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "mock_building.building.workers",
        *where,
        "--factory",
        factory,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        pass_fds=inherited,
        start_new_session=True,
    )
    assert process.stdin is not None
    process.stdin.write(options)  # the pipe stays open: its EOF tells the worker that we are gone
    await process.stdin.drain()
    return process


async def _ready(index: int, process: asyncio.subprocess.Process) -> None:
    assert process.stdout is not None
    if await process.stdout.readline() != _READY:
        code = await process.wait()
        raise WorkerError(
            "worker_failed",
            f"worker {index + 1} (pid {process.pid}) exited with code {code} before it accepted connections",
        )


async def _end(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        try:
            await asyncio.wait_for(process.wait(), _STOP_GRACE_S)
        except TimeoutError:
            logger.warning("worker pid %d did not stop within %.0f s: killed", process.pid, _STOP_GRACE_S)
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
    if process.stdin is not None:
        process.stdin.close()


# ---- the worker process ------------------------------------------------------------------------


def _load(spec: str) -> AppFactory:
    module, _, name = spec.partition(":")
    factory: AppFactory = getattr(importlib.import_module(module), name)
    return factory


class _Eof(asyncio.Protocol):
    def __init__(self, on_eof: Callable[[], None]) -> None:
        self._on_eof = on_eof

    def connection_lost(self, exc: Exception | None) -> None:
        self._on_eof()


async def _serve(factory: AppFactory, options: dict[str, Any], sock: socket.socket, ready: BinaryIO) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await loop.connect_read_pipe(lambda: _Eof(stop.set), sys.stdin)
    async with factory(**options) as app, collected_on_a_timer():
        served = await serve_on_socket(app, sock)
        ready.write(_READY)
        ready.close()
        ended = asyncio.create_task(served.stopped())
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({ended, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if ended.done():
            ended.result()  # uvicorn ended by itself: re-raise why
            raise RuntimeError("the server stopped by itself")
        await served.stop()


def _worker_main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="one worker of `start_workers` (not run by hand)")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--socket-fd", type=int, help="serve on this inherited listening socket")
    where.add_argument("--reuse-port", metavar="HOST:PORT", help="listen on a SO_REUSEPORT socket of its own")
    parser.add_argument("--factory", required=True)
    args = parser.parse_args(argv)
    from mock_building.building.logs import configure_logging

    configure_logging()
    # stdout is the readiness channel; anything else printed goes to stderr.
    ready = os.fdopen(os.dup(sys.stdout.fileno()), "wb", buffering=0)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    options = json.loads(sys.stdin.buffer.readline() or b"{}")
    if args.reuse_port is None:
        sock = socket.socket(fileno=args.socket_fd)
    else:
        host, _, port = args.reuse_port.rpartition(":")
        sock = listening_socket(host, int(port), reuse_port=True)  # uvicorn listens on it
    with asyncio.Runner(loop_factory=auto_loop_factory()) as runner:
        runner.run(_serve(_load(args.factory), options, sock, ready))
    return 0


if __name__ == "__main__":
    sys.exit(_worker_main())
