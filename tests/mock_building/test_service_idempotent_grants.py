"""POST /v1/grants with an Idempotency-Key: a lost answer retried never mints a second live grant.

A real uvicorn on loopback, the database in a real SQLite file (the key survives a restart).
"""

from __future__ import annotations

import asyncio

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


async def _issued_events(db) -> int:
    count = await stored_value(db, "SELECT COUNT(*) FROM audit_events WHERE outcome = 'grant_issued'")
    return int(count)


async def test_a_retry_gets_its_grant_back_where_a_new_request_would_be_refused(tmp_path):
    """Neither the rate limit nor the stop's completion stands between a retry and its grant; a
    retry is neither audited again nor counted against the limit."""
    db = tmp_path / "service.sqlite3"
    async with served_client(db, FakeClock(NOON), grant_rate_limit=2) as client:
        alice = await sign_in(client, "alice", "alice-pw")
        body = {"stop_id": "S1", "door_id": "A-N", "barcode": "BC-1", "handheld_key_id": alice.key_id}
        key = {"Idempotency-Key": "scan-1"}
        first = await client.post("/v1/grants", json=body, headers=alice.headers | key)
        retries = [await client.post("/v1/grants", json=body, headers=alice.headers | key) for _ in range(3)]
        assert [r.status_code for r in retries] == [200, 200, 200]
        # Three retries took no slot: a second scan still has the second slot, then the limit holds.
        second = await client.post(
            "/v1/grants", json=body, headers=alice.headers | {"Idempotency-Key": "scan-2"}
        )
        third = await client.post(
            "/v1/grants", json=body, headers=alice.headers | {"Idempotency-Key": "scan-3"}
        )
        assert (first.status_code, second.status_code, third.status_code) == (201, 201, 429)
        limited = await client.post("/v1/grants", json=body, headers=alice.headers | key)
        assert limited.status_code == 200 and _same_grant(limited) == _same_grant(first)
        assert (await alice.deliver("S1", ["P1", "P2"], grant_id=first.json()["grant_id"])).status_code == 201
        completed = await client.post("/v1/grants", json=body, headers=alice.headers | key)
        assert completed.status_code == 200 and _same_grant(completed) == _same_grant(first)
        refused = await client.post(
            "/v1/grants", json=body, headers=alice.headers | {"Idempotency-Key": "scan-4"}
        )
        assert refused.status_code == 429
    assert await _issued_events(db) == 2 and await _grant_rows(db) == 2


async def test_a_refusal_is_not_kept_under_its_key(tmp_path):
    """A refused request's key is free: the corrected scan under the same key is judged afresh."""
    async with served_client(tmp_path / "service.sqlite3", FakeClock(NOON)) as client:
        alice = await sign_in(client, "alice", "alice-pw")
        body = {"stop_id": "S1", "door_id": "A-N", "barcode": "BC-2", "handheld_key_id": alice.key_id}
        key = {"Idempotency-Key": "scan-1"}
        wrong = await client.post("/v1/grants", json=body | {"barcode": "BC-9"}, headers=alice.headers | key)
        assert wrong.status_code == 422 and wrong.json()["code"] == "package_not_for_stop"
        right = await client.post("/v1/grants", json=body, headers=alice.headers | key)
        assert right.status_code == 201


async def test_simultaneous_requests_under_one_key_get_one_grant(tmp_path):
    db = tmp_path / "service.sqlite3"
    async with served_client(db, FakeClock(NOON)) as client:
        alice = await sign_in(client, "alice", "alice-pw")
        body = {"stop_id": "S1", "door_id": "A-N", "barcode": "BC-1", "handheld_key_id": alice.key_id}
        key = {"Idempotency-Key": "scan-1"}
        answers = await asyncio.gather(
            *(client.post("/v1/grants", json=body, headers=alice.headers | key) for _ in range(8))
        )
        assert sorted(a.status_code for a in answers) == [200] * 7 + [201]
        assert len({a.json()["grant_id"] for a in answers}) == 1
    assert await _grant_rows(db) == 1 and await _issued_events(db) == 1
