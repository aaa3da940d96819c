"""POST /v1/grants with an Idempotency-Key: a lost answer retried never mints a second live grant.

A real uvicorn on loopback, the database in a real SQLite file (the key survives a restart).
"""

from __future__ import annotations

import pytest

from mock_building.service.clock import FakeClock
from tests.service_support import NOON, served_client, sign_in, stored_value

pytestmark = pytest.mark.usefixtures("service_backend")


def _same_grant(response) -> dict:
    """The grant's identity: the envelope (`grant`) is sealed afresh for the air with a new nonce."""
    return {k: v for k, v in response.json().items() if k != "grant"}


async def _grant_rows(db) -> int:
    count = await stored_value(db, "SELECT COUNT(*) FROM grants")
    return int(count)


async def test_the_same_key_and_body_return_the_same_grant_even_after_a_restart(tmp_path):
    clock = FakeClock(NOON)
    db = tmp_path / "service.sqlite3"
    key = {"Idempotency-Key": "7c0a3b4e-5e7f-4d5c-9a51-2f7e1c3b9d10"}
    async with served_client(db, clock) as client:
        alice = await sign_in(client, "alice", "alice-pw")
        body = {"stop_id": "S1", "door_id": "A-N", "barcode": "BC-1", "handheld_key_id": alice.key_id}
        first = await client.post("/v1/grants", json=body, headers=alice.headers | key)
        again = await client.post("/v1/grants", json=body, headers=alice.headers | key)
        assert first.status_code == 201 and again.status_code == 200
        assert _same_grant(again) == _same_grant(first)
        assert await _grant_rows(db) == 1
    async with served_client(db, clock) as client:
        clock.advance(5)
        headers = {"Authorization": alice.headers["Authorization"]} | {
            "Idempotency-Key": f'"{key["Idempotency-Key"]}"'
        }
        later = await client.post("/v1/grants", json=body, headers=headers)
        assert later.status_code == 200 and _same_grant(later) == _same_grant(first)
        # Without a key, each request is a new grant (as before).
        fresh = await client.post("/v1/grants", json=body, headers=alice.headers)
        assert fresh.status_code == 201 and fresh.json()["grant_id"] != first.json()["grant_id"]
    assert await _grant_rows(db) == 2


async def test_the_same_key_with_another_body_is_a_conflict(tmp_path):
    clock = FakeClock(NOON)
    async with served_client(tmp_path / "service.sqlite3", clock) as client:
        alice = await sign_in(client, "alice", "alice-pw")
        bob = await sign_in(client, "bob", "bob-pw")
        key = {"Idempotency-Key": "scan-1"}
        body = {"stop_id": "S1", "door_id": "A-N", "barcode": "BC-1", "handheld_key_id": alice.key_id}
        assert (await client.post("/v1/grants", json=body, headers=alice.headers | key)).status_code == 201
        other = await client.post("/v1/grants", json=body | {"door_id": "A-S"}, headers=alice.headers | key)
        assert other.status_code == 409 and other.json()["code"] == "conflict"
        # Keys belong to one driver: Bob's "scan-1" is his own.
        bobs = {"stop_id": "T1", "door_id": "A-N", "barcode": "BC-T1", "handheld_key_id": bob.key_id}
        assert (await client.post("/v1/grants", json=bobs, headers=bob.headers | key)).status_code == 201
        bad = await client.post("/v1/grants", json=body, headers=alice.headers | {"Idempotency-Key": "a b"})
        assert bad.status_code == 400 and bad.json()["code"] == "invalid_request"
