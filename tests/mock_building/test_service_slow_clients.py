"""Grant requests whose body comes slowly, or never, on a real server over loopback."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import httpx
import pytest

from mock_building.service.clock import FakeClock
from tests.service_support import NOON, served_client, sign_in

pytestmark = pytest.mark.usefixtures("service_backend")

_APP_LOGGER = "mock_building.service.app"


async def _grant_begun(client: httpx.AsyncClient, authorization: str) -> asyncio.StreamWriter:
    """A connection that sent a grant request's headers, declaring a 200-byte body, and 11 bytes of it."""
    address = client.base_url
    _, writer = await asyncio.open_connection(address.host, address.port)
    writer.write(
        b"POST /v1/grants HTTP/1.1\r\nHost: service\r\nContent-Type: application/json\r\n"
        + f"Authorization: {authorization}\r\nContent-Length: 200\r\n\r\n".encode()
        + b'{"stop_id":'
    )
    await writer.drain()
    return writer


async def test_bodies_sent_slowly_hold_no_database_connection(tmp_path: Path):
    """More slow senders than the pool has connections, and a driver still gets a grant at once."""
    async with served_client(tmp_path / "service.sqlite3", FakeClock(NOON), pool_size=2) as client:
        alice = await sign_in(client, "alice", "alice-pw")
        slow = [await _grant_begun(client, alice.headers["Authorization"]) for _ in range(3)]
        await asyncio.sleep(0.2)  # the service reads them as far as they go
        grant = await asyncio.wait_for(alice.grant("S1", "A-S", "BC-1"), 5)
        assert grant.status_code == 201, grant.text
        for writer in slow:
            writer.close()


async def test_a_client_that_hangs_up_before_its_body_is_no_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG, logger=_APP_LOGGER)
    async with served_client(tmp_path / "service.sqlite3", FakeClock(NOON)) as client:
        alice = await sign_in(client, "alice", "alice-pw")
        writer = await _grant_begun(client, alice.headers["Authorization"])
        writer.close()
        await writer.wait_closed()
        for _ in range(500):  # the service notices the hang-up
            if any("client left" in record.getMessage() for record in caplog.records):
                break
            await asyncio.sleep(0.01)
        else:
            pytest.fail("the hang-up was never noticed")
        assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
        assert (await alice.grant("S1", "A-S", "BC-1")).status_code == 201
