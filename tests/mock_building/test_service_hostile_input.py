"""Hostile input gets a clean 4xx: oversized bodies refused before they are read, out-of-range values.

A real uvicorn on loopback, a real SQLite file, and (for the body limit) a raw TCP socket, so the
test sees what the server does before the body has even been sent.
"""

from __future__ import annotations

import asyncio
import uuid
from urllib.parse import urlsplit

import pytest

from mock_building.service.clock import FakeClock
from tests.service_support import MANAGER_A, NOON, served_client, sign_in

pytestmark = pytest.mark.usefixtures("service_backend")


async def test_a_huge_declared_body_is_refused_before_it_is_sent(tmp_path):
    async with served_client(tmp_path / "service.sqlite3", FakeClock(NOON)) as client:
        url = urlsplit(str(client.base_url))
        reader, writer = await asyncio.open_connection(url.hostname, url.port)
        try:
            writer.write(
                b"POST /v1/auth/sign-in HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b'Content-Length: 67108864\r\n\r\n{"driver_id": "'
            )
            await writer.drain()
            # Only 16 of the announced 64 MiB were sent, and the answer is already there.
            status_line = await asyncio.wait_for(reader.readline(), 30)
        finally:
            writer.close()
        assert status_line.split()[1] == b"413"


async def test_a_streamed_body_is_cut_off_at_the_limit(tmp_path):
    async def chunks():
        for _ in range(64):
            yield b" " * 16384

    async with served_client(tmp_path / "service.sqlite3", FakeClock(NOON), max_body_bytes=65536) as client:
        answer = await client.post(
            "/v1/auth/sign-in", content=chunks(), headers={"Content-Type": "application/json"}
        )
    assert answer.status_code == 413
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == "request_too_large"


async def test_out_of_range_values_are_400_problems_never_500s(tmp_path):
    async with served_client(tmp_path / "service.sqlite3", FakeClock(NOON)) as client:
        alice = await sign_in(client, "alice", "alice-pw")
        for when in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "1969-12-31T23:59:59Z"):
            body = {
                "delivery_id": str(uuid.uuid4()),
                "stop_id": "S1",
                "package_ids": ["P1"],
                "delivered_at": when,
            }
            answer = await client.post("/v1/deliveries", json=body, headers=alice.headers)
            assert answer.status_code == 400 and answer.json()["code"] == "invalid_request", when
            assert "delivered_at" in answer.json()["detail"]
        for after in ("1e30", "99999999999999999999", "9223372036854775808", "-1"):
            answer = await client.get(
                "/v1/audit",
                params={"building_id": "A", "after": after},
                headers={"Authorization": f"Bearer {MANAGER_A}"},
            )
            assert answer.status_code == 400 and answer.json()["code"] == "invalid_request", after
