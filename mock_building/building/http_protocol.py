"""uvicorn's httptools protocol, with each response leaving in one `send`, and a deadline for requests.

uvicorn writes a response's status line and headers, then its body, as two transport writes, and
with TCP_NODELAY on (see `serving.listening_socket`) each write is a system call and a TCP segment
of its own. `CoalescingTransport` holds the writes made in one turn of the event loop and sends
them together at the start of the next: one `send` per response, ~45 µs less CPU per grant at
c=200 (bench/grant_load.py). Once `FLUSH_AT_BYTES` are held they go at once, so a large streamed
body still meets the socket transport's flow control (uvicorn waits while it is paused). Everything
else (closing, extra info, reading) is the socket transport's own.

uvicorn times a connection out only while it is idle after a response. A client that connects and
stays silent, or sends half a request and stops, would hold its connection (and, once its headers
are in, a task) for ever; a few thousand such phones exhaust the worker's file descriptors. Here
a request must arrive whole within `REQUEST_ARRIVAL_S`: from the connection's start for its first
request, from its first byte for a later one (uvicorn's own keep-alive timeout covers the wait
before it). Past that the connection is closed; a route still reading that body sees the client gone.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["FLUSH_AT_BYTES", "REQUEST_ARRIVAL_S", "CoalescingHttpProtocol", "CoalescingTransport"]

FLUSH_AT_BYTES = 64 * 1024
REQUEST_ARRIVAL_S = 30.0
"""Time for a whole request to arrive: a request of the largest body the service takes (64 KiB)
needs a few seconds on a poor mobile link, and a client that takes longer holds a connection."""
_log = logging.getLogger(__name__)


class CoalescingTransport(asyncio.Transport):
    """A transport whose writes within one loop turn reach the wrapped transport as one write."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] = []
        self._held_bytes = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._held:
            self._loop.call_soon(self.flush)
        self._held.append(bytes(data))
        self._held_bytes += len(data)
        if self._held_bytes >= FLUSH_AT_BYTES:
            self.flush()

    def flush(self) -> None:
        """Hand what is held to the wrapped transport (dropped once it is closing)."""
        if not self._held:
            return
        data = b"".join(self._held)
        self._held.clear()
        self._held_bytes = 0
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._held.clear()
        self._held_bytes = 0
        self._transport.abort()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + self._held_bytes

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def is_reading(self) -> bool:
        return self._transport.is_reading()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._transport.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._transport.get_protocol()


class CoalescingHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol writing through a `CoalescingTransport`, closing the connection
    of a request that does not arrive whole within `REQUEST_ARRIVAL_S`."""

    _arrival: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(CoalescingTransport(transport, self.loop))
        self._await_request()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._await_request()

    def on_message_complete(self) -> None:
        self._request_arrived()
        super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._request_arrived()
        super().connection_lost(exc)

    def _await_request(self) -> None:
        """Start the deadline, unless one runs already (a first request's runs from the connection)."""
        if self._arrival is None:
            self._arrival = self.loop.call_later(REQUEST_ARRIVAL_S, self._request_overdue)

    def _request_arrived(self) -> None:
        if self._arrival is not None:
            self._arrival.cancel()
            self._arrival = None

    def _request_overdue(self) -> None:
        self._arrival = None
        _log.debug("closing a connection whose request did not arrive in %s s", REQUEST_ARRIVAL_S)
        self.transport.close()
