"""The httpx access client against the real access service app (httpx's in-process ASGI transport)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from driver_app.adapters.access_http import HttpAccessClient
from driver_app.core.errors import AccessRefused, ServiceUnreachable
from mock_building.scenario.loader import default_scenario_path, load_scenario
from mock_building.service import app_for_scenario
from mock_building.service.clock import FakeClock
from protocol.api import DeliveryConfirmation, GrantRequest
from protocol.grant import decode_claims, parse_grant
from protocol.keys import public_key_bytes
from protocol.seal import open_sealed, seal_key
from protocol.unlock import GRANT_FIELD_MAX
from tests.service_support import HandheldClock

NOON = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
HANDHELD = Ed25519PrivateKey.from_private_bytes(bytes(32))


@pytest.fixture
async def world():
    scenario = load_scenario(default_scenario_path())
    service_clock = FakeClock(NOON)
    app = await app_for_scenario(scenario, clock=service_clock, password_cost=2**10, access_ttl_s=60)
    clock = HandheldClock(service_clock)
    rotated: list[str] = []
    client = HttpAccessClient(
        "http://service.test",
        clock=clock,
        transport=httpx.ASGITransport(app=app),
        on_tokens=lambda t: rotated.append(t.refresh_token),
    )
    yield client, clock, rotated, scenario, app
    await client.aclose()


async def _signed_in(client: HttpAccessClient) -> bytes:
    await client.sign_in("demo", "demo-password")
    return await client.register_handheld(public_key_bytes(HANDHELD))


async def test_sign_in_route_and_a_grant_bound_to_the_handheld(world) -> None:
    client, _, _, scenario, _ = world
    key_id = await _signed_in(client)
    route = await client.today_route()
    demo = next(r for r in scenario.routes if r.driver == "demo")
    assert [s.stop_id for s in route.stops] == [s.id for s in demo.stops]
    first = route.stops[0]
    door = first.building.doors[0].door_id
    grant = await client.request_grant(
        GrantRequest(
            stop_id=first.stop_id, door_id=door, barcode=first.packages[0].barcode, handheld_key_id=key_id
        )
    )
    sealed = seal_key(scenario.door_seal_key(door))  # the grant travels sealed for its door (SPEC section 15)
    claims = decode_claims(parse_grant(open_sealed(grant.grant, sealed, GRANT_FIELD_MAX)).payload)
    assert (claims.door_id, claims.stop_id, claims.grant_id) == (door, first.stop_id, grant.grant_id)
    assert claims.confirmation_key == public_key_bytes(HANDHELD)


async def test_gate_refusals_arrive_as_their_reason_codes(world) -> None:
    client, _, _, _, _ = world
    key_id = await _signed_in(client)
    route = await client.today_route()
    first, second = route.stops[0], route.stops[1]
    with pytest.raises(AccessRefused) as caught:
        await client.request_grant(
            GrantRequest(
                stop_id=first.stop_id,
                door_id=first.building.doors[0].door_id,
                barcode=second.packages[0].barcode,
                handheld_key_id=key_id,
            )
        )
    assert caught.value.reason == "package_not_for_stop" and not caught.value.retryable
    with pytest.raises(AccessRefused) as caught:
        await client.sign_in("demo", "not-the-password")
    assert caught.value.reason == "invalid_credentials"


async def test_an_expired_access_token_is_refreshed_and_the_new_refresh_token_handed_on(world) -> None:
    client, clock, rotated, _, _ = world
    await _signed_in(client)
    clock.advance(120)  # access tokens live 60 s here
    assert (await client.today_route()).stops
    assert len(rotated) == 2 and rotated[0] != rotated[1]
    with pytest.raises(AccessRefused):  # the used refresh token is dead: rotation happened
        await client.resume(rotated[0])


async def test_deliveries_are_idempotent_on_the_client_id(world) -> None:
    client, clock, _, _, _ = world
    await _signed_in(client)
    stop = (await client.today_route()).stops[0]
    confirmation = DeliveryConfirmation(
        delivery_id=uuid.uuid4(),
        stop_id=stop.stop_id,
        package_ids=(stop.packages[0].package_id,),
        delivered_at=datetime.fromtimestamp(clock.now(), UTC),
    )
    first = await client.confirm_delivery(confirmation)
    again = await client.confirm_delivery(confirmation)
    assert first.delivery_id == again.delivery_id == confirmation.delivery_id


async def test_a_service_that_is_down_is_unreachable_and_retryable(world) -> None:
    client, _, _, scenario, app = world
    await _signed_in(client)
    admin = {"Authorization": f"Bearer {scenario.admin_token}"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://service.test"
    ) as http:
        answer = await http.put(
            "/v1/admin/faults", json={"latency_ms": 0, "error_rate": 0.0, "down": True}, headers=admin
        )
        assert answer.status_code == 200
    with pytest.raises(ServiceUnreachable) as caught:
        await client.today_route()
    assert caught.value.retryable and caught.value.reason == "service_unavailable"
