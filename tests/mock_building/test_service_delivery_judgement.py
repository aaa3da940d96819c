"""Deliveries judged by the service's clock and the grant, and a parcel delivered only once.

Real uvicorn on loopback and a real SQLite file, as a handheld's outbox would reach the service.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from mock_building.building.serving import serve_app
from mock_building.service.clock import FakeClock
from tests.service_support import NOON, Driver, make_app, sign_in

pytestmark = pytest.mark.usefixtures("service_backend")


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[tuple[Driver, FakeClock]]:
    clock = FakeClock(NOON)
    app = await make_app(clock, db_path=tmp_path / "service.sqlite3", access_ttl_s=24 * 3600)
    served = await serve_app(app, "127.0.0.1", 0)
    try:
        async with httpx.AsyncClient(base_url=served.url, timeout=10) as client:
            yield await sign_in(client, "alice", "alice-pw"), clock
    finally:
        await served.stop()
        await app.state.service.database.close()


async def confirm(
    driver: Driver,
    delivered_at: str,
    *,
    grant_id: str | None = None,
    packages: tuple[str, ...] = ("P1", "P2"),
) -> httpx.Response:
    body = {
        "delivery_id": str(uuid.uuid4()),
        "stop_id": "S1",
        "package_ids": list(packages),
        "delivered_at": delivered_at,
    }
    if grant_id:
        body["grant_id"] = grant_id
    return await driver.client.post("/v1/deliveries", json=body, headers=driver.headers)


async def test_a_handheld_clock_reset_to_2000_does_not_get_the_delivery_refused(service):
    alice, clock = service
    grant = await alice.grant("S1", "A-N", "BC-1")
    clock.advance(30)
    answer = await confirm(alice, "2000-01-01T00:00:00+00:00", grant_id=grant.json()["grant_id"])
    assert answer.status_code == 201, answer.text
    body = answer.json()
    # The route day came from the grant; the time is the grant's issue, not the year 2000.
    assert datetime.fromisoformat(body["delivered_at"]) == NOON
    assert datetime.fromisoformat(body["claimed_delivered_at"]) == datetime(2000, 1, 1, tzinfo=UTC)


async def test_a_clock_in_the_future_or_in_the_past_without_a_grant_is_judged_by_the_service(service):
    alice, clock = service
    future = await confirm(alice, "2031-05-05T00:00:00+00:00", packages=("P1",))
    assert future.status_code == 201, future.text
    assert datetime.fromisoformat(future.json()["delivered_at"]) == NOON
    clock.advance(60)
    past = await confirm(alice, "2000-01-01T00:00:00+00:00", packages=("P2",))
    assert past.status_code == 201, past.text
    assert datetime.fromisoformat(past.json()["delivered_at"]) == NOON + timedelta(seconds=60) - timedelta(
        days=1
    )


async def test_a_plausible_claim_is_kept(service):
    alice, clock = service
    grant = await alice.grant("S1", "A-N", "BC-1")
    clock.advance(300)
    answer = await confirm(
        alice, (NOON + timedelta(seconds=45)).isoformat(), grant_id=grant.json()["grant_id"]
    )
    assert datetime.fromisoformat(answer.json()["delivered_at"]) == NOON + timedelta(seconds=45)


async def test_an_outbox_syncing_after_midnight_finds_yesterdays_route_by_the_service_clock(service):
    alice, clock = service
    clock.advance(13 * 3600)  # 01:00 the next day (UTC scenario): today has no route for alice
    answer = await confirm(alice, "2000-01-01T00:00:00+00:00")
    assert answer.status_code == 201, answer.text


async def test_one_parcel_is_delivered_once_whatever_the_delivery_id(service):
    alice, _ = service
    first = await confirm(alice, NOON.isoformat(), packages=("P1",))
    assert first.status_code == 201
    again = await confirm(alice, NOON.isoformat(), packages=("P1", "P2"))  # another id, same parcel P1
    assert again.status_code == 409 and again.json()["code"] == "already_delivered"
    assert "P1" in again.json()["detail"]
    rest = await confirm(alice, NOON.isoformat(), packages=("P2",))
    assert rest.status_code == 201
