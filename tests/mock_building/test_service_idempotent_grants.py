"""POST /v1/grants with an Idempotency-Key: a lost answer retried never mints a second live grant.

A real uvicorn on loopback, the database in a real SQLite file (the key survives a restart).
"""

from __future__ import annotations

import asyncio

import pytest

from mock_building.service import chores, gate
from mock_building.service.clock import FakeClock
from tests.service_support import NOON, client_for, make_app, served_client, sign_in, stored_value

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


LIFETIME_S = 120  # the service's grant lifetime (ServiceConfig.grant_lifetime_s)


async def test_a_retry_after_its_grant_expired_gets_a_live_grant(tmp_path):
    """A key answers with its grant while the grant is live; a retry after that (an answer lost for
    longer than a grant lives) is a new request, and gets a grant the door will still accept."""
    db = tmp_path / "service.sqlite3"
    clock = FakeClock(NOON)
    async with served_client(db, clock) as client:
        alice = await sign_in(client, "alice", "alice-pw")
        body = {"stop_id": "S1", "door_id": "A-N", "barcode": "BC-1", "handheld_key_id": alice.key_id}
        key = {"Idempotency-Key": "scan-1"}
        first = await client.post("/v1/grants", json=body, headers=alice.headers | key)
        clock.advance(LIFETIME_S - 1)
        live = await client.post("/v1/grants", json=body, headers=alice.headers | key)
        assert live.status_code == 200 and _same_grant(live) == _same_grant(first)
        clock.advance(1)  # the first grant expires now
        renewed = await client.post("/v1/grants", json=body, headers=alice.headers | key)
        assert renewed.status_code == 201, renewed.text
        assert renewed.json()["grant_id"] != first.json()["grant_id"]
        assert renewed.json()["expires_at"] > first.json()["expires_at"]
        # The key now answers with the renewed grant; another request under it is still a conflict.
        again = await client.post("/v1/grants", json=body, headers=alice.headers | key)
        assert again.status_code == 200 and _same_grant(again) == _same_grant(renewed)
        other = await client.post("/v1/grants", json=body | {"door_id": "A-S"}, headers=alice.headers | key)
        assert other.status_code == 409
    assert await _grant_rows(db) == 2 and await _issued_events(db) == 2


async def test_a_retry_after_its_grant_expired_is_judged_afresh(tmp_path):
    """An expired grant is never handed out: a retry where a new request would be refused is refused,
    and one with another body is a new request (the key is free once its grant is dead)."""
    db = tmp_path / "service.sqlite3"
    clock = FakeClock(NOON)
    async with served_client(db, clock) as client:
        alice = await sign_in(client, "alice", "alice-pw")
        body = {"stop_id": "S1", "door_id": "A-N", "barcode": "BC-1", "handheld_key_id": alice.key_id}
        first = await client.post(
            "/v1/grants", json=body, headers=alice.headers | {"Idempotency-Key": "scan-1"}
        )
        second = await client.post(
            "/v1/grants", json=body, headers=alice.headers | {"Idempotency-Key": "scan-2"}
        )
        assert (await alice.deliver("S1", ["P1", "P2"], grant_id=first.json()["grant_id"])).status_code == 201
        clock.advance(LIFETIME_S)
        completed = await client.post(
            "/v1/grants", json=body, headers=alice.headers | {"Idempotency-Key": "scan-1"}
        )
        assert completed.status_code == 409 and completed.json()["code"] == "stop_completed"
        body_s4 = {"stop_id": "S4", "door_id": "B-1", "barcode": "BC-5", "handheld_key_id": alice.key_id}
        reused = await client.post(
            "/v1/grants", json=body_s4, headers=alice.headers | {"Idempotency-Key": "scan-2"}
        )
        assert reused.status_code == 201, reused.text
        assert reused.json()["grant_id"] != second.json()["grant_id"] and reused.json()["door_id"] == "B-1"


async def _kept_keys(db) -> int:
    rows = await stored_value(db, "SELECT COUNT(*) FROM grant_requests")
    return int(rows)


async def _granted_under(client, keys: list[str]) -> None:
    """Alice's grant at her first stop, once under each of `keys` (each a new grant)."""
    alice = await sign_in(client, "alice", "alice-pw")
    body = {"stop_id": "S1", "door_id": "A-N", "barcode": "BC-1", "handheld_key_id": alice.key_id}
    for key in keys:
        answer = await client.post("/v1/grants", json=body, headers=alice.headers | {"Idempotency-Key": key})
        assert answer.status_code == 201, answer.text


async def test_a_served_service_forgets_keys_whose_grants_expired(tmp_path, monkeypatch):
    """Kept keys hold tokens: once a key's grant has expired the key is deleted, and live ones stay."""
    monkeypatch.setattr(chores, "CHECK_EVERY_S", 0.05)
    db = tmp_path / "service.sqlite3"
    clock = FakeClock(NOON)
    async with served_client(db, clock) as client:
        await _granted_under(client, ["old-0", "old-1", "old-2"])
        clock.advance(LIFETIME_S // 2)
        await _granted_under(client, ["late"])
        await asyncio.sleep(0.2)  # rounds of chores: nothing has expired yet
        assert await _kept_keys(db) == 4
        clock.advance(LIFETIME_S // 2)  # the three old grants expire, the late one lives on
        for _ in range(100):
            if await _kept_keys(db) == 1:
                break
            await asyncio.sleep(0.02)
        assert await _kept_keys(db) == 1
        assert await stored_value(db, "SELECT idempotency_key FROM grant_requests") == "late"
    assert await _grant_rows(db) == 4  # the grants themselves are kept (audit, receipts)


async def test_spent_keys_are_forgotten_in_bounded_steps(tmp_path, monkeypatch):
    """A long backlog is deleted a few keys per transaction, all of it in one call."""
    monkeypatch.setattr(gate, "FORGET_AT_MOST", 2)
    clock = FakeClock(NOON)
    app = await make_app(clock, tmp_path / "service.sqlite3")
    service = app.state.service
    try:
        async with client_for(app) as client:
            await _granted_under(client, [f"k-{n}" for n in range(5)])
            clock.advance(LIFETIME_S)
            await _granted_under(client, ["live"])
        assert await service.gate.forget_spent_requests(clock.now()) == 5
        assert await service.gate.forget_spent_requests(clock.now()) == 0
        kept = await service.database.fetch_all("SELECT idempotency_key FROM grant_requests")
        assert [row[0] for row in kept] == ["live"]
    finally:
        await service.database.close()
