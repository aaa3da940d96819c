"""The grant gate: every refusal reason, the same answer for foreign and missing stops, audit events."""

from __future__ import annotations

import pytest

from mock_building.service.clock import FakeClock
from protocol.api import b64url_decode
from protocol.grant import decode_claims, parse_grant
from protocol.keys import public_key_bytes
from tests.service_support import NOON, client_for, make_app, service_client, sign_in, unseal

pytestmark = pytest.mark.usefixtures("service_backend")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOON)


@pytest.fixture
async def service(clock):
    app = await make_app(clock, grant_rate_limit=5, grant_rate_window_s=60)
    async with client_for(app) as client:
        yield app, client


async def codes(app, kind: str = "grant") -> list[tuple[str, str]]:
    rows = await app.state.service.database.fetch_all(
        "SELECT outcome, reason FROM audit_events WHERE kind = $1 ORDER BY id", kind
    )
    return [(row[0], row[1]) for row in rows]


async def test_grant_is_signed_by_the_carrier_and_bound_to_the_handheld(service, clock):
    app, client = service
    alice = await sign_in(client, "alice", "alice-pw")
    answer = await alice.grant("S1", "A-S", "BC-2")
    assert answer.status_code == 201, answer.text
    body = answer.json()
    token = unseal(b64url_decode(body["grant"]), "A-S")
    envelope = parse_grant(token)
    claims = decode_claims(envelope.payload)
    assert envelope.kid == b"parcelco"
    assert claims.issuer == "parcelco" and claims.carrier == "parcelco"
    assert claims.door_id == "A-S" and claims.stop_id == "S1" and claims.package_id == "P2"
    assert claims.confirmation_key == public_key_bytes(alice.handheld)
    assert claims.lifetime == 120 and claims.issued_at == int(NOON.timestamp())
    assert claims.grant_id == b64url_decode(body["grant_id"])
    assert claims.subject.startswith("drv-") and "alice" not in claims.subject
    assert (await codes(app)) == [("grant_issued", "ok")]


async def test_grant_verifies_with_the_scenario_trust_store():
    """A door trusting the building's carriers accepts the grant: kid, issuer and key line up."""
    from protocol.keys import TrustStore
    from protocol.replay import InMemoryReplayCache
    from protocol.unlock import build_unlock_request
    from protocol.verify import verify_unlock
    from tests.service_support import scenario

    clock = FakeClock(NOON)
    async with service_client(clock) as client:
        alice = await sign_in(client, "alice", "alice-pw")
        token = unseal(b64url_decode((await alice.grant("S1", "A-N", "BC-1")).json()["grant"]), "A-N")
    challenge = bytes(range(16))
    request = build_unlock_request(token, alice.handheld, challenge, "A-N")
    decision = verify_unlock(
        request,
        trusted_keys=TrustStore.of(scenario().trusted_issuer_keys("A-N")),
        door_id="A-N",
        challenge=challenge,
        replay_cache=InMemoryReplayCache(),
        now=int(NOON.timestamp()) + 5,
    )
    assert decision.accepted, decision.reason


async def test_each_carrier_signs_its_own_grants_and_only_accepting_buildings_open(service):
    """Multi-carrier: building A accepts both carriers, B only parcelco; doors trust what the building accepts."""
    from protocol.keys import TrustStore
    from protocol.replay import InMemoryReplayCache
    from protocol.unlock import build_unlock_request
    from protocol.verify import verify_unlock
    from tests.service_support import scenario

    _app, client = service
    carol = await sign_in(client, "carol", "carol-pw")
    answer = await carol.grant("U1", "A-N", "BC-U1")
    assert answer.status_code == 201
    token = unseal(b64url_decode(answer.json()["grant"]), "A-N")
    assert (
        parse_grant(token).kid == b"swiftship"
        and decode_claims(parse_grant(token).payload).issuer == "swiftship"
    )
    assert (await carol.grant("U2", "B-1", "BC-U2")).json()["code"] == "carrier_not_accepted"

    challenge = bytes(16)
    decision = verify_unlock(
        build_unlock_request(token, carol.handheld, challenge, "A-N"),
        trusted_keys=TrustStore.of(scenario().trusted_issuer_keys("A-N")),
        door_id="A-N",
        challenge=challenge,
        replay_cache=InMemoryReplayCache(),
        now=int(NOON.timestamp()),
    )
    assert decision.accepted, decision.reason
    assert [k.kid for k in scenario().trusted_issuer_keys("B-1")] == [
        b"parcelco"
    ]  # B's door never trusts swiftship


@pytest.mark.parametrize(
    ("stop", "door", "barcode", "status", "code"),
    [
        ("S1", "A-N", "BC-3", 422, "package_not_for_stop"),  # a real parcel, but for another stop
        ("S1", "A-N", "NOPE", 422, "package_not_for_stop"),
        ("S1", "B-1", "BC-1", 422, "door_not_for_stop"),  # a real door of another building
        ("S1", "ZZZ", "BC-1", 422, "door_not_for_stop"),
        ("S2", "B-1", "BC-3", 422, "outside_delivery_window"),  # 08:00-10:00, it is noon
        ("S3", "C-1", "BC-4", 403, "carrier_not_accepted"),  # building C has not accepted parcelco
    ],
)
async def test_refusals(service, stop, door, barcode, status, code):
    app, client = service
    alice = await sign_in(client, "alice", "alice-pw")
    answer = await alice.grant(stop, door, barcode)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == code
    assert (await codes(app)) == [("grant_refused", code)]


async def test_window_open_now_is_granted(service):
    _, client = service
    alice = await sign_in(client, "alice", "alice-pw")
    assert (await alice.grant("S4", "B-1", "BC-5")).status_code == 201


async def test_another_drivers_stop_looks_exactly_like_a_missing_one(service):
    app, client = service
    alice = await sign_in(client, "alice", "alice-pw")
    foreign = await alice.grant("T1", "A-N", "BC-T1")  # bob's stop, bob's parcel, a door alice may use
    missing = await alice.grant("NO-SUCH-STOP", "A-N", "BC-T1")
    assert foreign.status_code == missing.status_code == 422
    strip = lambda r: {k: v for k, v in r.json().items() if k != "instance"}  # noqa: E731
    assert strip(foreign) == strip(missing)
    assert strip(foreign)["code"] == "not_on_route"
    assert foreign.headers["content-type"] == missing.headers["content-type"]
    assert (await codes(app)) == [("grant_refused", "not_on_route")] * 2


async def test_not_on_route_when_the_driver_has_no_route_today(clock):
    async with service_client(clock) as client:
        alice = await sign_in(client, "alice", "alice-pw")
        clock.advance(24 * 3600)  # tomorrow: the access token is stale, so sign in again
        alice = await sign_in(client, "alice", "alice-pw")
        answer = await alice.grant("S1", "A-N", "BC-1")
    assert answer.json()["code"] == "not_on_route"


async def test_completed_stop_is_refused(service):
    _app, client = service
    alice = await sign_in(client, "alice", "alice-pw")
    assert (await alice.deliver("S1", ["P1", "P2"])).status_code == 201
    answer = await alice.grant("S1", "A-N", "BC-1")
    assert answer.status_code == 409 and answer.json()["code"] == "stop_completed"


async def test_unknown_and_foreign_handheld_keys(service):
    _, client = service
    alice = await sign_in(client, "alice", "alice-pw")
    bob = await sign_in(client, "bob", "bob-pw")
    unknown = await alice.grant("S1", "A-N", "BC-1", key_id="AAAAAAAAAAA")
    foreign = await alice.grant("S1", "A-N", "BC-1", key_id=bob.key_id)
    assert unknown.json()["code"] == foreign.json()["code"] == "unknown_handheld"
    assert unknown.status_code == 403


async def test_rate_limit(service, clock):
    app, client = service
    alice = await sign_in(client, "alice", "alice-pw")
    for _ in range(5):
        assert (await alice.grant("S1", "A-N", "NOPE")).json()["code"] == "package_not_for_stop"
    limited = await alice.grant("S1", "A-N", "BC-1")
    assert limited.status_code == 429 and limited.json()["code"] == "rate_limited"
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    clock.advance(61)
    assert (await alice.grant("S1", "A-N", "BC-1")).status_code == 201
    assert (await codes(app))[-2:] == [("grant_refused", "rate_limited"), ("grant_issued", "ok")]


async def test_a_grant_needs_a_valid_token(service):
    _, client = service
    body = {"stop_id": "S1", "door_id": "A-N", "barcode": "BC-1", "handheld_key_id": "AAAAAAAAAAA"}
    none = await client.post("/v1/grants", json=body)
    bogus = await client.post("/v1/grants", json=body, headers={"Authorization": "Bearer nope"})
    for answer in (none, bogus):
        assert answer.status_code == 401 and answer.json()["code"] == "not_authenticated"
        assert answer.headers["www-authenticate"] == "Bearer"
