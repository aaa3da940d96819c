"""uvicorn's httptools protocol as the service serves it: one `send` per response, deadlines for
requests to arrive and for responses to be taken, and a cap on the size of a request's head.

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

The other way round, a client that asks and then takes nothing of the answer would hold its
connection and the answering task for ever (the socket transport pauses the response while its
buffer is full). A response that stays paused, with nothing taken, for `RESPONSE_STALL_S` loses its
connection.

Neither uvicorn nor httptools bounds a request line or a header: a client could send megabytes of
one header, all held in memory, within the deadline. A request head (request line and headers)
larger than `MAX_HEAD_BYTES` is answered 431 problem+json and its connection closed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from protocol.api import PROBLEM_MEDIA_TYPE, Problem
from protocol.reasons import ReasonCode

__all__ = [
    "FLUSH_AT_BYTES",
    "MAX_HEAD_BYTES",
    "REQUEST_ARRIVAL_S",
    "RESPONSE_STALL_S",
    "CoalescingTransport",
    "ServiceHttpProtocol",
]

FLUSH_AT_BYTES = 64 * 1024
MAX_HEAD_BYTES = 16 * 1024
"""A request line and headers together, at most (h11's default; a driver's request head is < 1 KiB)."""
REQUEST_ARRIVAL_S = 30.0
"""Time for a whole request to arrive: a request of the largest body the service takes (64 KiB)
needs a few seconds on a poor mobile link, and a client that takes longer holds a connection."""
RESPONSE_STALL_S = 30.0
"""Time a client may take nothing of a response the service is sending (a slow link takes some)."""
_log = logging.getLogger(__name__)
_HEAD_TOO_LARGE = HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
_HEAD_TOO_LARGE_BODY = (
    Problem.of(ReasonCode.REQUEST_TOO_LARGE, "Request header fields too large")
    .model_copy(update={"status": _HEAD_TOO_LARGE.value})
    .model_dump_json(exclude_none=True)
    .encode()
)
_HEAD_TOO_LARGE_RESPONSE = (
    b"HTTP/1.1 %d %s\r\ncontent-type: %s\r\ncontent-length: %d\r\nconnection: close\r\n\r\n%s"
    % (
        _HEAD_TOO_LARGE.value,
        _HEAD_TOO_LARGE.phrase.encode(),
        PROBLEM_MEDIA_TYPE.encode(),
        len(_HEAD_TOO_LARGE_BODY),
        _HEAD_TOO_LARGE_BODY,
    )
)


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


class _Deadline:
    """A timer that calls `on_expiry` once it runs out: started (a running one keeps its time) or stopped."""

    __slots__ = ("_loop", "_on_expiry", "_timer")

    def __init__(self, loop: asyncio.AbstractEventLoop, on_expiry: Callable[[], None]) -> None:
        self._loop = loop
        self._on_expiry = on_expiry
        self._timer: asyncio.TimerHandle | None = None

    def start(self, seconds: float) -> None:
        if self._timer is None:
            self._timer = self._loop.call_later(seconds, self._expire)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expire(self) -> None:
        self._timer = None
        self._on_expiry()


class ServiceHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol writing through a `CoalescingTransport`, closing the connection
    of a request that does not arrive whole within `REQUEST_ARRIVAL_S` or of a response nothing is
    taken of for `RESPONSE_STALL_S`, and refusing a request head larger than `MAX_HEAD_BYTES`."""

    _arrival: _Deadline
    _stall: _Deadline
    _reading_head = True
    """Between requests or inside a request's head (until its headers are complete)."""
    _unparsed_head_bytes = 0
    """Bytes of the chunks that ended inside a head (httptools holds a header until it is whole)."""
    _request_ended = False
    """A request ended inside the chunk being read: the rest of it is the next head's start, uncounted."""
    _refused = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(CoalescingTransport(transport, self.loop))
        self._arrival = _Deadline(self.loop, self._request_overdue)
        self._stall = _Deadline(self.loop, self._response_stalled)
        self._arrival.start(REQUEST_ARRIVAL_S)  # a first request's deadline runs from the connection

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        self._request_ended = False
        super().data_received(data)
        if not self._reading_head or self._request_ended or self._refused or self.transport.is_closing():
            return
        self._unparsed_head_bytes += len(data)
        if self._unparsed_head_bytes > MAX_HEAD_BYTES:
            self._refuse_head()

    def on_headers_complete(self) -> None:
        self._reading_head, self._unparsed_head_bytes = False, 0
        # The request target and header fields the parser handed over (uvicorn keeps them).
        if len(self.url) + sum(len(name) + len(value) for name, value in self.headers) > MAX_HEAD_BYTES:
            self._refuse_head()
        else:
            super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            super().on_body(body)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arrival.start(REQUEST_ARRIVAL_S)

    def on_message_complete(self) -> None:
        self._arrival.stop()
        self._reading_head, self._request_ended = True, True
        if not self._refused:
            super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._arrival.stop()
        self._stall.stop()
        super().connection_lost(exc)

    def pause_writing(self) -> None:
        super().pause_writing()
        self._stall.start(RESPONSE_STALL_S)

    def resume_writing(self) -> None:
        self._stall.stop()
        super().resume_writing()

    def _response_stalled(self) -> None:
        _log.debug("dropping a connection that took nothing of its response in %s s", RESPONSE_STALL_S)
        self.transport.abort()

    def _request_overdue(self) -> None:
        _log.debug("closing a connection whose request did not arrive in %s s", REQUEST_ARRIVAL_S)
        self.transport.close()

    def _refuse_head(self) -> None:
        """Answer 431 (unless an earlier request's answer is still due) and close; read nothing more."""
        self._refused = True
        _log.debug("refusing a request head over %d bytes", MAX_HEAD_BYTES)
        if self.cycle is None or self.cycle.response_complete:  # no answer of an earlier request is due
            self.transport.write(_HEAD_TOO_LARGE_RESPONSE)
        self.transport.close()
