"""Accounts as a bank runs them: throttled sign-in, refresh-token families, sign-out, handheld-key limit.

Every test talks to a real uvicorn on loopback with the service's database in a real SQLite file.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mock_building.service.clock import FakeClock
from mock_building.service.throttle import ThrottlePolicy
from protocol.api import b64url_encode
from protocol.keys import public_key_bytes
from tests.service_support import NOON, served_client, sign_in, stored_rows, stored_value

pytestmark = pytest.mark.usefixtures("service_backend")


def _wrong(driver_id: str = "alice") -> dict[str, str]:
    return {"driver_id": driver_id, "password": "guess"}


async def test_wrong_passwords_get_growing_delays_then_a_lockout_that_says_when_it_ends(tmp_path):
    clock = FakeClock(NOON)
    db = tmp_path / "service.sqlite3"
    async with served_client(db, clock) as client:
        waits, failures = [], 0
        while failures < 10:
            answer = await client.post("/v1/auth/sign-in", json=_wrong())
            if answer.status_code == 429:  # refused unchecked: it does not count as a failure
                assert answer.json()["code"] == "rate_limited"
                waits.append(int(answer.headers["Retry-After"]))
                clock.advance(waits[-1])
                continue
            assert answer.status_code == 401 and answer.json()["code"] == "invalid_credentials"
            failures += 1
        assert waits == [1, 2, 4, 8, 16, 32]  # three free attempts, then doubling delays
        # Locked: even the right password is refused, and the answer says until when.
        locked = await client.post("/v1/auth/sign-in", json={"driver_id": "alice", "password": "alice-pw"})
        assert locked.status_code == 429 and locked.json()["code"] == "account_locked"
        until = clock.now().timestamp() + 900
        assert int(locked.headers["Retry-After"]) == 900
        assert f"{datetime.fromtimestamp(until, UTC):%Y-%m-%dT%H:%M:%SZ}" in locked.json()["detail"]
        # Another account from the same client is not locked.
        assert (
            await client.post("/v1/auth/sign-in", json={"driver_id": "bob", "password": "bob-pw"})
        ).status_code == 200
    # The lock is in the database, not in the process: a restarted service still enforces it.
    async with served_client(db, clock) as client:
        again = await client.post("/v1/auth/sign-in", json={"driver_id": "alice", "password": "alice-pw"})
        assert again.status_code == 429 and again.json()["code"] == "account_locked"
        clock.advance(901)
        assert (
            await client.post("/v1/auth/sign-in", json={"driver_id": "alice", "password": "alice-pw"})
        ).status_code == 200
    # A success clears the account's count.
    assert await stored_rows(db, "SELECT key FROM sign_in_throttle WHERE key = 'driver:alice'") == []


async def test_one_client_guessing_many_accounts_is_locked_out(tmp_path):
    clock = FakeClock(NOON)
    policy = ThrottlePolicy(free_failures=3, lockout_after=6, lockout_s=600)
    async with served_client(tmp_path / "service.sqlite3", clock, client_throttle=policy) as client:
        codes = []
        for n in range(12):
            answer = await client.post("/v1/auth/sign-in", json=_wrong(f"driver-{n}"))
            codes.append(answer.json()["code"])
            if answer.status_code == 429:
                clock.advance(int(answer.headers["Retry-After"]))
        assert codes[:3] == ["invalid_credentials"] * 3
        assert "rate_limited" in codes
        locked = await client.post("/v1/auth/sign-in", json={"driver_id": "alice", "password": "alice-pw"})
        assert locked.status_code == 429 and locked.json()["code"] == "account_locked"
        assert "this device" in locked.json()["detail"] and int(locked.headers["Retry-After"]) == 600


async def test_a_reused_refresh_token_ends_the_whole_family(tmp_path):
    clock = FakeClock(NOON)
    async with served_client(tmp_path / "service.sqlite3", clock) as client:
        victim = await sign_in(client, "alice", "alice-pw")
        stolen = victim.refresh_token
        rotated = await client.post("/v1/auth/refresh", json={"refresh_token": stolen})
        assert rotated.status_code == 200
        # The thief replays the spent token: refused, and every token of the sign-in dies.
        replay = await client.post("/v1/auth/refresh", json={"refresh_token": stolen})
        assert replay.status_code == 401 and replay.json()["code"] == "refresh_token_reused"
        newest = rotated.json()
        assert (
            await client.post("/v1/auth/refresh", json={"refresh_token": newest["refresh_token"]})
        ).status_code == 401
        headers = {"Authorization": f"Bearer {newest['access_token']}"}
        assert (await client.get("/v1/routes/today", headers=headers)).status_code == 401
        assert (await client.get("/v1/routes/today", headers=victim.headers)).status_code == 401
        # Another sign-in of the same driver (another handheld) is untouched.
        other = await sign_in(client, "alice", "alice-pw")
        assert (await client.get("/v1/routes/today", headers=other.headers)).status_code == 200


async def test_sign_out_ends_the_session_and_its_refresh_token(tmp_path):
    clock = FakeClock(NOON)
    async with served_client(tmp_path / "service.sqlite3", clock) as client:
        alice = await sign_in(client, "alice", "alice-pw")
        out = await client.post("/v1/auth/sign-out", headers=alice.headers)
        assert out.status_code == 204
        after = await client.get("/v1/routes/today", headers=alice.headers)
        assert after.status_code == 401 and after.json()["code"] == "not_authenticated"
        refresh = await client.post("/v1/auth/refresh", json={"refresh_token": alice.refresh_token})
        assert refresh.status_code == 401
        assert (
            await client.post("/v1/auth/sign-out", headers=alice.headers)
        ).status_code == 204  # idempotent
        assert (await client.post("/v1/auth/sign-out")).status_code == 401
        # A handheld that kept only its refresh token signs out with it, without refreshing first.
        again = await sign_in(client, "alice", "alice-pw")
        out = await client.post("/v1/auth/sign-out", json={"refresh_token": again.refresh_token})
        assert out.status_code == 204
        assert (await client.get("/v1/routes/today", headers=again.headers)).status_code == 401


async def test_enrolling_more_handheld_keys_than_the_limit_retires_the_oldest(tmp_path):
    clock = FakeClock(NOON)
    db = tmp_path / "service.sqlite3"
    async with served_client(db, clock, max_handheld_keys=3) as client:
        alice = await sign_in(client, "alice", "alice-pw")
        key_ids = [alice.key_id]
        for _ in range(20):
            clock.advance(1)
            body = {"public_key": b64url_encode(public_key_bytes(Ed25519PrivateKey.generate()))}
            registered = await client.post("/v1/handheld-keys", json=body, headers=alice.headers)
            assert registered.status_code == 201
            key_ids.append(registered.json()["key_id"])
        oldest = await alice.grant("S1", "A-N", "BC-1", key_id=key_ids[0])
        assert oldest.status_code == 403 and oldest.json()["code"] == "revoked"
        newest = await alice.grant("S1", "A-N", "BC-1", key_id=key_ids[-1])
        assert newest.status_code == 201
    live = [
        row[0]
        for row in await stored_rows(
            db, "SELECT key_id FROM handhelds WHERE driver_id = 'alice' AND revoked_at IS NULL"
        )
    ]
    retired = await stored_value(db, "SELECT COUNT(*) FROM revocations WHERE target_kind = 'handheld'")
    assert sorted(live) == sorted(key_ids[-3:]) and retired == 18


async def test_guesses_made_at_once_are_all_counted(tmp_path):
    """Each failure is one atomic increment: guesses racing each other (any worker) lose no count."""
    db = tmp_path / "service.sqlite3"
    async with served_client(db, FakeClock(NOON)) as client:
        answers = await asyncio.gather(*(client.post("/v1/auth/sign-in", json=_wrong()) for _ in range(12)))
    failed = [a for a in answers if a.status_code == 401]
    assert failed and all(a.json()["code"] == "invalid_credentials" for a in failed)
    failures = await stored_value(db, "SELECT failures FROM sign_in_throttle WHERE key = 'driver:alice'")
    assert failures == len(failed)


async def test_handheld_keys_registered_at_once_still_leave_only_the_limit_live(tmp_path):
    db = tmp_path / "service.sqlite3"
    async with served_client(db, FakeClock(NOON), max_handheld_keys=3) as client:
        alice = await sign_in(client, "alice", "alice-pw")
        bodies = [
            {"public_key": b64url_encode(public_key_bytes(Ed25519PrivateKey.generate()))} for _ in range(8)
        ]
        answers = await asyncio.gather(
            *(client.post("/v1/handheld-keys", json=body, headers=alice.headers) for body in bodies)
        )
        assert [answer.status_code for answer in answers] == [201] * 8
    live = await stored_value(
        db, "SELECT COUNT(*) FROM handhelds WHERE driver_id = 'alice' AND revoked_at IS NULL"
    )
    retired = await stored_value(db, "SELECT COUNT(*) FROM revocations WHERE target_kind = 'handheld'")
    assert (live, retired) == (3, 6)
