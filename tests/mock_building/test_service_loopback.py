"""The access service on a real uvicorn server on a loopback port, spoken to over TCP."""

from __future__ import annotations

import httpx
import pytest
from tests.service_support import NOON, make_app, sign_in

from mock_building.service.clock import FakeClock
from mock_building.building.serving import serve_app


async def test_full_driver_flow_over_loopback():
    served = await serve_app(make_app(FakeClock(NOON)), "127.0.0.1", 0)  # returns once startup completed
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
