"""Sessions: sign-in, access-token expiry, refresh rotation, revocation of drivers and handhelds."""

from __future__ import annotations

import asyncio

import pytest

from mock_building.service.clock import FakeClock
from tests.service_support import ADMIN, NOON, admin, client_for, make_app, service_client, sign_in

pytestmark = pytest.mark.usefixtures("service_backend")


async def test_sign_in_refusals():
    async with service_client(FakeClock(NOON)) as client:
        wrong = await client.post("/v1/auth/sign-in", json={"driver_id": "alice", "password": "nope"})
        nobody = await client.post("/v1/auth/sign-in", json={"driver_id": "mallory", "password": "x"})
    assert wrong.status_code == nobody.status_code == 401
    assert wrong.json()["code"] == nobody.json()["code"] == "invalid_credentials"


async def test_access_token_expires_and_refresh_rotates():
    clock = FakeClock(NOON)
    async with service_client(clock, access_ttl_s=60) as client:
        alice = await sign_in(client, "alice", "alice-pw")
        assert (await client.get("/v1/routes/today", headers=alice.headers)).status_code == 200
        clock.advance(61)
        expired = await client.get("/v1/routes/today", headers=alice.headers)
        assert expired.status_code == 401 and expired.json()["code"] == "token_expired"

        renewed = await client.post("/v1/auth/refresh", json={"refresh_token": alice.refresh_token})
        assert renewed.status_code == 200 and renewed.json()["expires_in"] == 60
        headers = {"Authorization": f"Bearer {renewed.json()['access_token']}"}
        assert (await client.get("/v1/routes/today", headers=headers)).status_code == 200
        # The old refresh token was used up: replaying it fails, and ends the whole sign-in.
        replay = await client.post("/v1/auth/refresh", json={"refresh_token": alice.refresh_token})
        assert replay.status_code == 401 and replay.json()["code"] == "refresh_token_reused"


async def test_two_concurrent_refreshes_with_one_token_give_one_session_and_a_reuse_detection():
    app = await make_app(FakeClock(NOON))
    database = app.state.service.database
    try:
        async with client_for(app) as client:
            alice = await sign_in(client, "alice", "alice-pw")
            both = await asyncio.gather(
                *(
                    client.post("/v1/auth/refresh", json={"refresh_token": alice.refresh_token})
                    for _ in range(2)
                )
            )
            assert sorted(answer.status_code for answer in both) == [200, 401]
            (winner,) = [answer for answer in both if answer.status_code == 200]
            (loser,) = [answer for answer in both if answer.status_code == 401]
            assert loser.json()["code"] == "refresh_token_reused"
            # The reuse ended the whole sign-in: the winner's fresh tokens are dead too.
            headers = {"Authorization": f"Bearer {winner.json()['access_token']}"}
            assert (await client.get("/v1/routes/today", headers=headers)).status_code == 401
        sessions = await database.fetch_value("SELECT COUNT(*) FROM sessions WHERE driver_id = 'alice'")
        ended = await database.fetch_all("SELECT end_reason FROM session_families WHERE driver_id = 'alice'")
    finally:
        await database.close()
    assert sessions == 2  # the sign-in's, and exactly one rotated from it
    assert [row[0] for row in ended] == ["refresh token reused"]


async def test_refresh_token_expires():
    clock = FakeClock(NOON)
    async with service_client(clock, refresh_ttl_s=3600) as client:
        alice = await sign_in(client, "alice", "alice-pw")
        clock.advance(3601)
        late = await client.post("/v1/auth/refresh", json={"refresh_token": alice.refresh_token})
    assert late.status_code == 401 and late.json()["code"] == "token_expired"


async def test_revoked_driver_loses_sessions_and_cannot_sign_in():
    clock = FakeClock(NOON)
    async with service_client(clock) as client:
        alice = await sign_in(client, "alice", "alice-pw")
        denied = await client.post(
            "/v1/admin/drivers/alice/revocation", json={"reason": "x"}, headers=alice.headers
        )
        assert denied.status_code == 403 and denied.json()["code"] == "forbidden"
        done = await client.post(
            "/v1/admin/drivers/alice/revocation", json={"reason": "left the company"}, headers=admin()
        )
        assert done.status_code == 204
        after = await client.get("/v1/routes/today", headers=alice.headers)
        assert after.status_code == 401  # the session is gone
        again = await client.post("/v1/auth/sign-in", json={"driver_id": "alice", "password": "alice-pw"})
        assert again.status_code == 403 and again.json()["code"] == "revoked"
        refresh = await client.post("/v1/auth/refresh", json={"refresh_token": alice.refresh_token})
        assert refresh.status_code == 401
        unknown = await client.post(
            "/v1/admin/drivers/nobody/revocation", json={"reason": "x"}, headers=admin()
        )
        assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"


async def test_revoked_handheld_gets_no_grants_and_cannot_reregister():
    async with service_client(FakeClock(NOON)) as client:
        alice = await sign_in(client, "alice", "alice-pw")
        assert (await alice.grant("S1", "A-N", "BC-1")).status_code == 201
        revoked = await client.post(
            "/v1/revocations", json={"handheld_key_id": alice.key_id, "reason": "lost"}, headers=admin()
        )
        assert revoked.status_code == 204
        refused = await alice.grant("S1", "A-N", "BC-1")
        assert refused.status_code == 403 and refused.json()["code"] == "revoked"
        from protocol.api import b64url_encode
        from protocol.keys import public_key_bytes

        again = await client.post(
            "/v1/handheld-keys",
            json={"public_key": b64url_encode(public_key_bytes(alice.handheld))},
            headers=alice.headers,
        )
        assert again.status_code == 403 and again.json()["code"] == "revoked"


async def test_handheld_registration_is_idempotent_and_exclusive():
    async with service_client(FakeClock(NOON)) as client:
        alice = await sign_in(client, "alice", "alice-pw")
        bob = await sign_in(client, "bob", "bob-pw")
        from protocol.api import b64url_encode
        from protocol.keys import public_key_bytes

        body = {"public_key": b64url_encode(public_key_bytes(alice.handheld))}
        same = await client.post("/v1/handheld-keys", json=body, headers=alice.headers)
        assert same.status_code == 201 and same.json()["key_id"] == alice.key_id
        stolen = await client.post("/v1/handheld-keys", json=body, headers=bob.headers)
        assert stolen.status_code == 409 and stolen.json()["code"] == "conflict"
        short = await client.post("/v1/handheld-keys", json={"public_key": "AAAA"}, headers=alice.headers)
        assert short.status_code == 400 and short.json()["code"] == "invalid_request"


async def test_grant_revocation_is_recorded():
    async with service_client(FakeClock(NOON)) as client:
        alice = await sign_in(client, "alice", "alice-pw")
        grant_id = (await alice.grant("S1", "A-N", "BC-1")).json()["grant_id"]
        assert (
            await client.post("/v1/revocations", json={"grant_id": grant_id, "reason": "r"}, headers=admin())
        ).status_code == 204
        missing = await client.post(
            "/v1/revocations", json={"grant_id": "A" * 22, "reason": "r"}, headers=admin()
        )
        assert missing.status_code == 404
        both = await client.post(
            "/v1/revocations",
            json={"grant_id": grant_id, "handheld_key_id": alice.key_id, "reason": "r"},
            headers=admin(),
        )
        assert both.status_code == 400 and both.json()["code"] == "invalid_request"
        feed = await client.get(
            "/v1/audit", params={"building_id": "A"}, headers={"Authorization": f"Bearer {ADMIN}"}
        )
    assert [e["outcome"] for e in feed.json()] == ["grant_issued", "grant_revoked"]
