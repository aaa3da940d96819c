"""Delivery confirmation: idempotency on the delivery id, stop completion, refusals; today's route."""

from __future__ import annotations

import uuid

import pytest

from mock_building.service.clock import FakeClock
from tests.service_support import NOON, service_client, sign_in

pytestmark = pytest.mark.usefixtures("service_backend")


async def test_route_today_lists_stops_packages_doors_windows():
    async with service_client(FakeClock(NOON)) as client:
        alice = await sign_in(client, "alice", "alice-pw")
        route = (await client.get("/v1/routes/today", headers=alice.headers)).json()
    assert route["route_id"] == "alice@2026-11-23" and route["date"] == "2026-11-23"
    assert [s["stop_id"] for s in route["stops"]] == ["S1", "S2", "S3", "S4"]
    first = route["stops"][0]
    assert first["sequence"] == 1 and first["address"] == "1 Alpha St" and first["status"] == "pending"
    assert first["building"] == {
        "building_id": "A",
        "name": "Alpha House",
        "doors": [{"door_id": "A-N", "name": "North entrance"}, {"door_id": "A-S", "name": "South entrance"}],
    }
    assert first["packages"] == [
        {"package_id": "P1", "barcode": "BC-1", "unit": "2B"},
        {"package_id": "P2", "barcode": "BC-2", "unit": None},
    ]
    assert first["window"] == {"start": "2026-11-23T00:00:00Z", "end": "2026-11-24T00:00:00Z"}
    assert route["stops"][1]["window"] == {"start": "2026-11-23T08:00:00Z", "end": "2026-11-23T10:00:00Z"}


async def test_confirmation_is_idempotent_and_completes_the_stop():
    async with service_client(FakeClock(NOON)) as client:
        alice = await sign_in(client, "alice", "alice-pw")
        grant_id = (await alice.grant("S1", "A-N", "BC-1")).json()["grant_id"]
        delivery_id = str(uuid.uuid4())
        first = await alice.deliver("S1", ["P1"], delivery_id=delivery_id, grant_id=grant_id)
        assert first.status_code == 201, first.text
        replay = await alice.deliver("S1", ["P1"], delivery_id=delivery_id, grant_id=grant_id)
        assert replay.status_code == 200 and replay.json() == first.json()
        clash = await alice.deliver("S1", ["P2"], delivery_id=delivery_id, grant_id=grant_id)
        assert clash.status_code == 409 and clash.json()["code"] == "conflict"

        route = (await client.get("/v1/routes/today", headers=alice.headers)).json()
        assert route["stops"][0]["status"] == "pending"  # P2 is still on the van
        assert (await alice.deliver("S1", ["P2"])).status_code == 201
        route = (await client.get("/v1/routes/today", headers=alice.headers)).json()
        assert route["stops"][0]["status"] == "delivered"


async def test_confirmation_refusals():
    async with service_client(FakeClock(NOON)) as client:
        alice = await sign_in(client, "alice", "alice-pw")
        bob = await sign_in(client, "bob", "bob-pw")
        bobs_grant = (await bob.grant("T1", "A-N", "BC-T1")).json()["grant_id"]
        assert (await alice.deliver("T1", ["Q1"])).json()["code"] == "not_on_route"
        assert (await alice.deliver("S1", ["P3"])).json()["code"] == "package_not_for_stop"
        assert (await alice.deliver("S1", ["P1"], grant_id=bobs_grant)).json()["code"] == "not_found"
        empty = await alice.deliver("S1", [])
        assert empty.status_code == 400 and empty.json()["code"] == "invalid_request"
        bad_id = await alice.deliver("S1", ["P1"], delivery_id="not-a-uuid")
        assert bad_id.json()["code"] == "invalid_request"
