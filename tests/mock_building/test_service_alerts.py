"""Building alerts, each produced through the real upload path: uvicorn on loopback, a SQLite file.

Every kind the issue lists gets a test that uploads (or requests, or waits for) what a relay or a
door would really send, then reads the manager's alert feed over HTTP.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta, timezone
from pathlib import Path

import httpx
import pytest

from mock_building.building.serving import serve_app
from mock_building.service import open_database
from mock_building.service.clock import FakeClock
from protocol.api import b64url_decode, b64url_encode
from protocol.reasons import Outcome, ReasonCode
from protocol.receipt import GENESIS_HASH, Receipt, receipt_digest, sign_receipt
from tests.service_support import (
    ADMIN,
    MANAGER_A,
    NOON,
    Driver,
    admin,
    database_location,
    make_app,
    scenario,
    sign_in,
)

pytestmark = pytest.mark.usefixtures("service_backend")

T0 = int(NOON.timestamp())
MANAGER = {"Authorization": f"Bearer {MANAGER_A}"}
GAP_AFTER_S = 600
GRANT_MARGIN_S = 300


@dataclass
class World:
    client: httpx.AsyncClient
    clock: FakeClock
    alice: Driver
    db_path: Path

    async def upload(self, blobs: list[bytes]) -> dict:
        answer = await self.client.post(
            "/v1/receipts", json={"receipts": [b64url_encode(b) for b in blobs]}, headers=self.alice.headers
        )
        assert answer.status_code == 200, answer.text
        return answer.json()

    async def alerts(self, building_id: str = "A", **params: str) -> list[dict]:
        answer = await self.client.get(
            "/v1/alerts", params={"building_id": building_id, **params}, headers=MANAGER
        )
        assert answer.status_code == 200, answer.text
        return answer.json()

    async def grant_id(self, door_id: str = "A-N") -> bytes:
        answer = await self.alice.grant("S1", door_id, "BC-1")
        assert answer.status_code == 201, answer.text
        return b64url_decode(answer.json()["grant_id"])


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    clock = FakeClock(NOON)
    db_path = tmp_path / "service.sqlite3"
    app = await make_app(
        clock, db_path=db_path, gap_alert_after_s=GAP_AFTER_S, grant_receipt_margin_s=GRANT_MARGIN_S
    )
    served = await serve_app(app, "127.0.0.1", 0)
    try:
        async with httpx.AsyncClient(base_url=served.url, timeout=10) as client:
            yield World(client, clock, await sign_in(client, "alice", "alice-pw"), db_path)
    finally:
        await served.stop()
        await app.state.service.database.close()


def receipt(
    door_id: str,
    seq: int,
    prev: bytes,
    *,
    grant_id: bytes | None = None,
    outcome: Outcome = Outcome.REFUSED,
    reason: ReasonCode = ReasonCode.MALFORMED,
    key_door: str | None = None,
) -> bytes:
    """A receipt as door `door_id` would sign it (or door `key_door`, to forge one)."""
    body = Receipt(door_id, seq, prev, grant_id, outcome, reason, T0 + seq)
    return sign_receipt(body, scenario().door(key_door or door_id).private_key)


def chain(door_id: str, count: int) -> list[bytes]:
    blobs, prev = [], GENESIS_HASH
    for seq in range(count):
        blobs.append(receipt(door_id, seq, prev))
        prev = receipt_digest(blobs[-1])
    return blobs


def kinds(alerts: list[dict]) -> list[str]:
    return [a["kind"] for a in alerts]


async def test_a_gap_still_open_after_the_configured_time_is_an_alert(world):
    blobs = chain("A-N", 4)
    body = await world.upload([blobs[0], blobs[3]])
    assert body["gaps"] == [{"door_id": "A-N", "first_seq": 1, "last_seq": 2}]
    world.clock.advance(GAP_AFTER_S - 1)
    assert await world.alerts() == []  # a relay still has time to deliver the missing receipts
    world.clock.advance(2)
    [alert] = await world.alerts()
    assert (alert["kind"], alert["severity"], alert["state"], alert["door_id"]) == (
        "receipt_gap",
        "warning",
        "open",
        "A-N",
    )
    assert (
        alert["evidence"]["first_seq"],
        alert["evidence"]["last_seq"],
        alert["evidence"]["open_minutes"],
    ) == (1, 2, 10)
    assert await world.alerts() == [alert]  # reading again does not raise it again


async def test_a_gap_partly_filled_keeps_the_time_it_opened(world):
    blobs = chain("A-N", 5)
    await world.upload([blobs[0], blobs[4]])  # 1-3 missing from now on
    world.clock.advance(GAP_AFTER_S - 100)
    body = await world.upload([blobs[2]])
    assert [(g["first_seq"], g["last_seq"]) for g in body["gaps"]] == [(1, 1), (3, 3)]
    assert await world.alerts() == []
    world.clock.advance(101)  # both halves are as old as the gap they came from
    alerts = await world.alerts()
    assert sorted((a["evidence"]["first_seq"], a["evidence"]["last_seq"]) for a in alerts) == [(1, 1), (3, 3)]


async def test_a_gap_filled_in_time_raises_nothing(world):
    blobs = chain("A-N", 3)
    await world.upload([blobs[0], blobs[2]])
    world.clock.advance(GAP_AFTER_S - 60)
    await world.upload([blobs[1]])
    world.clock.advance(3600)
    assert await world.alerts() == []


async def test_chain_break_and_fork_are_alerts_with_the_offered_receipt_as_evidence(world):
    good = chain("A-N", 3)
    await world.upload([good[0], good[2]])
    bad_prev = receipt("A-N", 1, bytes(32))
    fork = receipt("A-N", 0, GENESIS_HASH, reason=ReasonCode.EXPIRED)
    body = await world.upload([bad_prev, fork])
    assert [r["reason"] for r in body["results"]] == ["chain_broken", "chain_broken"]
    await world.upload([fork])  # the relay retries: still one alert per offered receipt
    alerts = await world.alerts()
    assert sorted(kinds(alerts)) == ["chain_broken", "chain_fork"]
    evidence = {a["kind"]: a["evidence"] for a in alerts}
    assert {a["severity"] for a in alerts} == {"critical"}
    assert b64url_decode(evidence["chain_fork"]["receipt"]) == fork
    assert evidence["chain_fork"]["stored_digest"] == receipt_digest(good[0]).hex()
    assert b64url_decode(evidence["chain_broken"]["receipt"]) == bad_prev
    assert evidence["chain_broken"]["relayed_by"].startswith("drv-")


async def test_a_receipt_with_a_bad_signature_is_an_alert(world):
    forged = receipt("A-S", 0, GENESIS_HASH, outcome=Outcome.UNLOCKED, reason=ReasonCode.OK, key_door="A-N")
    body = await world.upload([forged])
    assert body["results"][0]["reason"] == "receipt_bad_signature"
    [alert] = await world.alerts()
    assert (alert["kind"], alert["severity"], alert["door_id"]) == (
        "receipt_bad_signature",
        "critical",
        "A-S",
    )
    assert b64url_decode(alert["evidence"]["receipt"]) == forged


async def test_a_grant_without_a_receipt_after_expiry_plus_margin_is_an_alert(world):
    unused = await world.grant_id("A-S")
    used = await world.grant_id("A-N")
    await world.upload(
        [receipt("A-N", 0, GENESIS_HASH, grant_id=used, outcome=Outcome.UNLOCKED, reason=ReasonCode.OK)]
    )
    world.clock.advance(120 + GRANT_MARGIN_S - 5)  # grants live 120 s
    assert await world.alerts() == []
    world.clock.advance(10)
    [alert] = await world.alerts()
    assert (alert["kind"], alert["severity"], alert["door_id"]) == ("grant_without_receipt", "warning", "A-S")
    assert alert["evidence"]["grant_id"] == unused.hex() and alert["evidence"]["carrier"] == "parcelco"
    assert alert["evidence"]["driver_ref"].startswith("drv-")


async def test_an_unlock_and_a_delivery_quoting_a_revoked_grant_are_alerts(world):
    grant_id = await world.grant_id()
    revoked = await world.client.post(
        "/v1/revocations",
        json={"grant_id": b64url_encode(grant_id), "reason": "handheld reported stolen"},
        headers=admin(),
    )
    assert revoked.status_code == 204
    unlocked = receipt(
        "A-N", 0, GENESIS_HASH, grant_id=grant_id, outcome=Outcome.UNLOCKED, reason=ReasonCode.OK
    )
    assert (await world.upload([unlocked]))["results"][0]["status"] == "accepted"
    delivered = await world.alice.deliver("S1", ["P1"], grant_id=b64url_encode(grant_id))
    assert delivered.status_code == 201  # the parcel is there: recorded, and flagged
    alerts = await world.alerts()
    assert kinds(alerts) == ["revoked_grant_used", "revoked_grant_used"]
    via_delivery, via_receipt = alerts
    assert via_delivery["evidence"]["delivery_id"] == delivered.json()["delivery_id"]
    assert b64url_decode(via_receipt["evidence"]["receipt"]) == unlocked
    assert via_receipt["evidence"]["revoked_at"] and via_receipt["severity"] == "critical"


async def test_a_door_event_naming_no_known_grant_is_an_alert_and_in_the_feed(world):
    stranger = os.urandom(16)
    unlocked = receipt(
        "A-N", 0, GENESIS_HASH, grant_id=stranger, outcome=Outcome.UNLOCKED, reason=ReasonCode.OK
    )
    await world.upload([unlocked])
    [alert] = await world.alerts()
    assert (alert["kind"], alert["severity"]) == ("unknown_grant", "critical")
    assert alert["evidence"]["grant_id"] == stranger.hex()
    # a refused attempt only claims its grant id (SPEC §7): still shown, as a warning
    refused = receipt(
        "A-N", 1, receipt_digest(unlocked), grant_id=os.urandom(16), reason=ReasonCode.BAD_SIGNATURE
    )
    await world.upload([refused])
    assert [(a["kind"], a["severity"]) for a in await world.alerts()] == [
        ("unknown_grant", "warning"),
        ("unknown_grant", "critical"),
    ]
    feed = (await world.client.get("/v1/audit", params={"building_id": "A"}, headers=MANAGER)).json()
    assert [(e["outcome"], e["reason"], e["driver_ref"]) for e in feed] == [
        ("door_unlocked", "ok", None),
        ("alert_raised", "unknown_grant", None),
        ("door_refused", "bad_signature", None),
        ("alert_raised", "unknown_grant", None),
    ]


@pytest.mark.parametrize(
    ("reason", "severity"),
    [
        (ReasonCode.DOOR_FORCED, "critical"),
        (ReasonCode.DOOR_HELD_OPEN, "warning"),
        (ReasonCode.UNLOCKED_NOT_OPENED, "notice"),
    ],
)
async def test_door_sensor_alerts_become_building_alerts(world, reason, severity):
    await world.upload([receipt("A-S", 0, GENESIS_HASH, outcome=Outcome.ALERT, reason=reason)])
    [alert] = await world.alerts()
    assert (alert["kind"], alert["severity"], alert["door_id"]) == (reason.slug, severity, "A-S")
    assert alert["event_time"].startswith("2026-11-23T12:00:00")


async def test_acknowledgement_by_the_buildings_manager_only(world):
    await world.upload(
        [receipt("A-S", 0, GENESIS_HASH, outcome=Outcome.ALERT, reason=ReasonCode.DOOR_FORCED)]
    )
    [alert] = await world.alerts()
    path = f"/v1/alerts/{alert['alert_id']}/acknowledgement"
    as_driver = await world.client.post(path, json={}, headers=world.alice.headers)
    assert as_driver.status_code == 403 and as_driver.json()["code"] == "forbidden"
    unknown = await world.client.post("/v1/alerts/999/acknowledgement", json={}, headers=MANAGER)
    assert unknown.status_code == 404
    world.clock.advance(30)
    acked = await world.client.post(path, json={"note": "door guard checked it"}, headers=MANAGER)
    assert acked.status_code == 200
    assert (acked.json()["state"], acked.json()["acknowledged_by"], acked.json()["note"]) == (
        "acknowledged",
        "manager",
        "door guard checked it",
    )
    again = await world.client.post(
        path, json={"note": "other"}, headers={"Authorization": f"Bearer {ADMIN}"}
    )
    assert again.json() == acked.json()  # the first acknowledgement stands
    assert await world.alerts(state="open") == []
    assert kinds(await world.alerts(state="acknowledged")) == ["door_forced"]
    other_building = await world.client.get("/v1/alerts", params={"building_id": "B"}, headers=MANAGER)
    assert other_building.status_code == 403


async def test_tenant_view_lists_carriers_and_verification_without_people(world):
    grant_id = await world.grant_id()
    first = receipt("A-N", 0, GENESIS_HASH, grant_id=grant_id, outcome=Outcome.UNLOCKED, reason=ReasonCode.OK)
    third = receipt("A-N", 2, bytes(32))  # seq 1 never arrives
    forged = receipt("A-S", 0, GENESIS_HASH, outcome=Outcome.UNLOCKED, reason=ReasonCode.OK, key_door="A-N")
    await world.upload([first, third, forged])
    answer = await world.client.get("/v1/buildings/A/entries", headers=MANAGER)
    assert answer.status_code == 200, answer.text
    entries = [(e["door_id"], e["seq"], e["carrier"], e["outcome"], e["verification"]) for e in answer.json()]
    assert entries == [
        ("A-N", 0, "parcelco", "unlocked", "verified"),
        ("A-S", 0, None, "unlocked", "bad_signature"),
        ("A-N", 2, None, "refused", "verified_after_gap"),
    ]
    assert "alice" not in answer.text.lower() and "drv-" not in answer.text and "S1" not in answer.text
    since = (NOON + timedelta(seconds=1)).astimezone(timezone(timedelta(hours=1))).isoformat()
    later = await world.client.get("/v1/buildings/A/entries", params={"since": since}, headers=MANAGER)
    assert [(e["door_id"], e["seq"]) for e in later.json()] == [("A-N", 2)]
    as_driver = await world.client.get("/v1/buildings/A/entries", headers=world.alice.headers)
    assert as_driver.status_code == 403


async def test_alerts_are_stored_in_the_services_database_file(world):
    await world.upload(
        [receipt("A-S", 0, GENESIS_HASH, outcome=Outcome.ALERT, reason=ReasonCode.DOOR_FORCED)]
    )
    # the service's database (its file on SQLite), by a second connection
    database = await open_database(database_location(world.db_path.parent), migrate=False)
    try:
        assert [row[0] for row in await database.fetch_all("SELECT kind FROM alerts")] == ["door_forced"]
    finally:
        await database.close()
