"""Serve an ASGI app with uvicorn as one task on the caller's event loop.

The building runs the service, the radio and the doors on one loop, so uvicorn must neither
install its own signal handlers (the building owns SIGINT/SIGTERM and stops every part in order)
nor pick its port late: the socket is bound first, so port 0 works and the URL is known up front.
A worker process (`workers.py`) serves on a socket bound before uvicorn starts: `serve_on_socket`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import socket
import sys
from collections.abc import Iterator

import uvicorn
from starlette.types import ASGIApp

from mock_building.building.http_protocol import ServiceHttpProtocol

__all__ = ["ServedApp", "listening_socket", "reuse_port_balances", "serve_app", "serve_on_socket"]


class _Server(uvicorn.Server):
    """A uvicorn server that reports readiness as an event and leaves signals to its owner."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = asyncio.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.ready.set()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class ServedApp:
    """A running server: its URL and a graceful `stop()`."""

    def __init__(self, server: _Server, task: asyncio.Task[None], url: str) -> None:
        self._server = server
        self._task = task
        self.url = url

    async def stop(self) -> None:
        self._server.should_exit = True
        await self._task

    async def stopped(self) -> None:
        """Returns when the server has ended without `stop()` (it re-raises what ended it)."""
        await asyncio.shield(self._task)


@functools.cache
def reuse_port_balances() -> bool:
    """Whether SO_REUSEPORT spreads new connections over the listening sockets of one port.

    Linux (3.9+) hashes each connection to one socket of the group; other systems either lack the
    option or give every connection to one socket, so only Linux answers yes, and only if the
    kernel accepts the option.
    """
    if not sys.platform.startswith("linux") or not hasattr(socket, "SO_REUSEPORT"):
        return False
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP) as probe:
        try:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        except OSError:
            return False
    return True


def listening_socket(host: str, port: int, *, reuse_port: bool = False) -> socket.socket:
    """A bound, non-blocking TCP socket for `loop.create_server(sock=...)`.

    The protocol must be named: asyncio disables Nagle (TCP_NODELAY) on accepted connections only
    when `sock.proto` says TCP, and with protocol 0 every keep-alive response waited ~40 ms for the
    client's delayed ACK. `reuse_port` lets several processes each listen on host:port (see
    `reuse_port_balances`).
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


async def serve_app(app: ASGIApp, host: str, port: int) -> ServedApp:
    """Start serving `app` on host:port (0 = any free port) and return once it accepts requests."""
    return await serve_on_socket(app, listening_socket(host, port))


async def serve_on_socket(app: ASGIApp, sock: socket.socket) -> ServedApp:
    """Serve `app` on a bound TCP socket (see `listening_socket`); return once it accepts requests.

    uvicorn parses HTTP with httptools and sends each response in one write (`http_protocol`);
    the loop is the caller's.
    """
    host, bound_port = sock.getsockname()[:2]
    config = uvicorn.Config(
        app,
        http=ServiceHttpProtocol,
        server_header=False,  # no "server: uvicorn" telling a prober what answers
        log_config=None,
        log_level=logging.WARNING,
        lifespan="on",
        access_log=False,
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]), name="access-service")
    ready = asyncio.create_task(server.ready.wait())
    await asyncio.wait({task, ready}, return_when=asyncio.FIRST_COMPLETED)
    if not ready.done():
        ready.cancel()
        sock.close()
        await task  # re-raises the startup failure
        raise OSError(f"the access service stopped during start-up on {host}:{bound_port}")
    return ServedApp(server, task, f"http://{host}:{bound_port}")
