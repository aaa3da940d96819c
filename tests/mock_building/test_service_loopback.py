"""The access service on a real uvicorn server on a loopback port, spoken to over TCP."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest

from mock_building.building.serving import listening_socket, serve_app
from mock_building.service.clock import FakeClock
from tests.service_support import NOON, make_app, sign_in

pytestmark = pytest.mark.usefixtures("service_backend")


async def test_full_driver_flow_over_loopback():
    served = await serve_app(
        await make_app(FakeClock(NOON)), "127.0.0.1", 0
    )  # returns once startup completed
    try:
        assert served.url.startswith("http://127.0.0.1:")
        async with httpx.AsyncClient(base_url=served.url, timeout=10) as client:
            alice = await sign_in(client, "alice", "alice-pw")
            route = await client.get("/v1/routes/today", headers=alice.headers)
            assert route.status_code == 200 and len(route.json()["stops"]) == 4
            grant = await alice.grant("S1", "A-S", "BC-1")
            assert grant.status_code == 201 and grant.json()["door_id"] == "A-S"
            delivered = await alice.deliver("S1", ["P1", "P2"], grant_id=grant.json()["grant_id"])
            assert delivered.status_code == 201
            refused = await alice.grant("S1", "A-S", "BC-1")
            assert refused.status_code == 409
            assert refused.headers["content-type"] == "application/problem+json"
            assert (await client.get("/openapi.json")).json()["info"]["title"].startswith("LobbyKey")
    finally:
        await served.stop()
    async with httpx.AsyncClient(base_url=served.url, timeout=2) as client:
        with pytest.raises(httpx.ConnectError):  # stopped: nothing listens any more
            await client.get("/openapi.json")


async def test_accepted_connections_have_nagle_disabled():
    """A keep-alive response must not wait for the client's delayed ACK (TCP_NODELAY on accept)."""
    accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.set_result(
            writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        )
        writer.close()

    server = await asyncio.start_server(on_connect, sock=listening_socket("127.0.0.1", 0))
    try:
        port = server.sockets[0].getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        assert await asyncio.wait_for(accepted, 5) != 0
        writer.close()
    finally:
        server.close()
        await server.wait_closed()
