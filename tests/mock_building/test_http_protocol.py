"""Responses leave in one write per loop turn, nothing is lost or reordered on the way, a request
that does not arrive in time loses its connection, so does a response nobody takes, and an
oversized request head is refused."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from mock_building.building import http_protocol
from mock_building.building.http_protocol import FLUSH_AT_BYTES, MAX_HEAD_BYTES, CoalescingTransport
from mock_building.building.serving import serve_app


class _Recorder(asyncio.Transport):
    """The far side of the coalescing transport: what reached it, write by write."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False
        self.aborted = False

    def write(self, data: Any) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed or self.aborted

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True

    def get_write_buffer_size(self) -> int:
        return 0


async def _turn() -> None:
    await asyncio.sleep(0)


async def test_writes_of_one_turn_reach_the_socket_as_one():
    far = _Recorder()
    near = CoalescingTransport(far, asyncio.get_running_loop())
    near.write(b"HTTP/1.1 201 Created\r\n\r\n")
    near.write(memoryview(b"{}"))
    assert far.writes == [] and near.get_write_buffer_size() == len(b"HTTP/1.1 201 Created\r\n\r\n{}")
    await _turn()
    assert far.writes == [b"HTTP/1.1 201 Created\r\n\r\n{}"]
    near.write(b"next")
    await _turn()
    assert far.writes[1:] == [b"next"]


async def test_a_large_body_is_handed_on_at_once_so_flow_control_sees_it():
    far = _Recorder()
    near = CoalescingTransport(far, asyncio.get_running_loop())
    near.write(b"h")
    near.write(b"x" * FLUSH_AT_BYTES)
    assert far.writes == [b"h" + b"x" * FLUSH_AT_BYTES]  # before the turn ends
    await _turn()
    assert len(far.writes) == 1


async def test_close_sends_what_is_held_first_and_abort_drops_it():
    far = _Recorder()
    near = CoalescingTransport(far, asyncio.get_running_loop())
    near.write(b"last words")
    near.close()
    assert far.writes == [b"last words"] and far.closed
    await _turn()
    assert far.writes == [b"last words"]

    far = _Recorder()
    near = CoalescingTransport(far, asyncio.get_running_loop())
    near.write(b"never sent")
    near.abort()
    await _turn()
    assert far.writes == [] and far.aborted


async def test_nothing_is_written_once_the_connection_is_closing():
    far = _Recorder()
    near = CoalescingTransport(far, asyncio.get_running_loop())
    near.write(b"too late")
    far.closed = True  # the peer went away during the turn
    await _turn()
    assert far.writes == []


async def _app(scope: Scope, receive: Receive, send: Send) -> None:
    """Echoes the request path, in as many body messages as the query string asks for."""
    if scope["type"] != "http":
        return
    parts = int(scope["query_string"] or b"1")
    piece = scope["path"].encode() * 1000
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-length", b"%d" % (len(piece) * parts))],
        }
    )
    for index in range(parts):
        await send({"type": "http.response.body", "body": piece, "more_body": index < parts - 1})


def _read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(1 << 16):
        chunks.append(chunk)
    return b"".join(chunks)


def _exchange(port: int, request: bytes, *, timeout: float = 10) -> bytes:
    """Send `request` on a new connection; everything the server answers until it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        return _read_all(sock)


@asynccontextmanager
async def _served_port(app: ASGIApp) -> AsyncIterator[int]:
    """`app` on a real server over loopback: its port, until the block ends."""
    served = await serve_app(app, "127.0.0.1", 0)
    try:
        yield int(served.url.rsplit(":", 1)[1])
    finally:
        await served.stop()


async def test_pipelined_requests_are_answered_whole_and_in_order_on_a_real_server():
    async with _served_port(_app) as port:
        requests = b"".join(
            b"GET /%s HTTP/1.1\r\nHost: x\r\n%s\r\n"
            % (name, b"Connection: close\r\n" if name == b"c" else b"")
            for name in (b"a", b"b", b"c")
        )
        answer = await asyncio.to_thread(_exchange, port, requests)  # until the server closes after /c
        bodies = [part.split(b"\r\n\r\n", 1)[1] for part in answer.split(b"HTTP/1.1 200 OK\r\n")[1:]]
        assert bodies == [b"/a" * 1000, b"/b" * 1000, b"/c" * 1000]
        assert b"\r\nserver:" not in answer.lower()  # nothing tells a prober which server answers


async def test_a_streamed_body_larger_than_the_socket_buffers_arrives_intact():
    async with _served_port(_app) as port:
        parts = 4 * 1024  # 4,096 pieces of 4,000 bytes: 16 MB, far past what the socket buffers hold
        request = b"GET /big?%d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % parts
        head, body = (await asyncio.to_thread(_exchange, port, request, timeout=30)).split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 200 OK") and body == b"/big" * 1000 * parts


async def _body_length(scope: Scope, receive: Receive, send: Send) -> None:
    """Reads the whole request body, then answers with its length."""
    if scope["type"] != "http":
        return
    size, more = 0, True
    while more:
        message = await receive()
        size += len(message.get("body", b""))
        more = message.get("more_body", False)
    answer = b"%d" % size
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"%d" % len(answer))]}
    )
    await send({"type": "http.response.body", "body": answer})


def _answer(sock: socket.socket) -> bytes:
    """One whole response (its body is short, and comes in the same read as its head or after)."""
    data = b""
    while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) < int(
        data.lower().split(b"content-length: ", 1)[1].split(b"\r\n", 1)[0]
    ):
        chunk = sock.recv(1 << 16)
        assert chunk, "closed before the answer was whole"
        data += chunk
    return data


@pytest.fixture
def short_deadline(monkeypatch: pytest.MonkeyPatch) -> float:
    monkeypatch.setattr(http_protocol, "REQUEST_ARRIVAL_S", 0.5)
    return 0.5


async def test_a_request_that_does_not_arrive_whole_in_time_loses_its_connection(short_deadline: float):
    async with _served_port(_body_length) as port:

        def closed_after(sent: bytes) -> tuple[bytes, float]:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                started = time.monotonic()
                sock.sendall(sent)
                return _read_all(sock), time.monotonic() - started

        silent, half_head, half_body = await asyncio.gather(
            *(
                asyncio.to_thread(closed_after, sent)
                for sent in (
                    b"",
                    b"POST /a HTTP/1.1\r\nHo",
                    b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n12345",
                )
            )
        )
        for answer, waited in (silent, half_head, half_body):
            assert answer == b"" and short_deadline * 0.8 < waited < 5


async def test_a_response_nothing_is_taken_of_loses_its_connection(monkeypatch: pytest.MonkeyPatch):
    """A client that asks for 16 MB and reads nothing is dropped once the response has stalled; one
    that reads, however the socket buffers fill, gets it all (the streamed-body test above)."""
    monkeypatch.setattr(http_protocol, "RESPONSE_STALL_S", 0.3)
    parts = 4 * 1024
    async with _served_port(_app) as port:

        def asks_then_sits() -> int:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
                sock.sendall(b"GET /big?%d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % parts)
                time.sleep(1.5)
                received = 0
                try:
                    while chunk := sock.recv(1 << 16):
                        received += len(chunk)
                except ConnectionResetError:
                    pass
                return received

        received = await asyncio.to_thread(asks_then_sits)
        assert 0 < received < len(b"/big") * 1000 * parts / 2


async def test_a_request_in_pieces_within_the_deadline_is_answered_and_the_next_one_too(
    short_deadline: float,
):
    """The deadline runs from a later request's first byte, not from the end of the answer before."""
    async with _served_port(_body_length) as port:
        pause = short_deadline * 0.6

        def exchange() -> list[bytes]:
            answers = []
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                for _ in range(2):
                    sock.sendall(b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nabc")
                    time.sleep(pause)
                    sock.sendall(b"def")
                    answers.append(_answer(sock))
                    time.sleep(pause)  # idle: the next request's deadline has not started
            return answers

        answers = await asyncio.to_thread(exchange)
        assert [a.split(b"\r\n\r\n", 1)[1] for a in answers] == [b"6", b"6"]


async def test_a_request_head_over_the_cap_is_refused_431_and_one_under_it_is_answered():
    async with _served_port(_body_length) as port:

        def head(size: int) -> bytes:
            return b"GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Filler: %s\r\n\r\n" % (b"f" * size)

        over = await asyncio.to_thread(_exchange, port, head(MAX_HEAD_BYTES + 1))
        under = await asyncio.to_thread(_exchange, port, head(MAX_HEAD_BYTES - 200))
        status, body = over.split(b"\r\n\r\n", 1)
        assert status.startswith(b"HTTP/1.1 431 ") and b"content-type: application/problem+json" in status
        assert json.loads(body)["code"] == "request_too_large" and json.loads(body)["status"] == 431
        assert under.startswith(b"HTTP/1.1 200 OK") and under.endswith(b"\r\n\r\n0")


async def test_a_large_body_pipelined_before_a_request_does_not_count_against_its_head():
    async with _served_port(_body_length) as port:
        size = 4 * MAX_HEAD_BYTES
        pipelined = (
            b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (size, b"b" * size)
            + b"GET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        answers = await asyncio.to_thread(_exchange, port, pipelined)
        assert answers.count(b"HTTP/1.1 200 OK") == 2, answers[:200]
        assert answers.endswith(b"\r\n\r\n0") and b"\r\n\r\n%d" % size in answers


async def test_a_header_that_never_ends_is_cut_off_once_past_the_cap():
    """httptools holds an unfinished header whole: the server stops reading it past the cap."""
    async with _served_port(_body_length) as port:

        def endless_header() -> bytes:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                try:
                    sock.sendall(b"GET /a HTTP/1.1\r\nHost: x\r\nX-Endless: ")
                    for _ in range(8 * MAX_HEAD_BYTES // 1024):
                        sock.sendall(b"e" * 1024)
                        time.sleep(0.001)  # separate reads on the server's side
                    return _read_all(sock)
                except (BrokenPipeError, ConnectionResetError):
                    return b""  # closed while we were still sending

        answer = await asyncio.to_thread(endless_header)
        assert answer == b"" or answer.startswith(b"HTTP/1.1 431 ")
