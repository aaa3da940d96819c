"""The service's door upkeep over HTTP: what phones fetch, and what admin changes queue (SPEC section 14)."""

from __future__ import annotations

import asyncio

import pytest

from mock_building.service.clock import FakeClock
from mock_building.service.storage import upkeep as upkeep_store
from mock_building.service.upkeep import ACK_EVERY
from protocol.api import b64url_decode, b64url_encode
from protocol.grant import parse_grant
from protocol.keys import TrustedIssuerKey
from protocol.maintenance import Revocation, Statement, StatementKind, check_statement
from protocol.reasons import Outcome, ReasonCode
from protocol.receipt import GENESIS_HASH, Receipt, receipt_digest, sign_receipt
from protocol.seal import open_sealed, seal_key
from tests.service_support import (
    NOON,
    admin,
    client_for,
    make_app,
    scenario,
    service_client,
    sign_in,
    two_workers,
    unseal,
)

pytestmark = pytest.mark.usefixtures("service_backend")

DOOR = "A-N"


def statements(answer: dict[str, object], door_id: str = DOOR) -> list[Statement]:
    """Open and check each statement the way the door will; all must pass."""
    key = seal_key(scenario().door_seal_key(door_id))
    authorities = {a.kid: a for a in scenario().door_authorities(door_id)}
    checked = []
    raw = answer["statements"]
    assert isinstance(raw, list)
    for sealed in raw:
        check = check_statement(open_sealed(b64url_decode(sealed), key, 512), authorities, door_id=door_id,
                                last_counter=None)  # fmt: skip
        assert check.reason is ReasonCode.OK and check.statement is not None
        checked.append(check.statement)
    return checked


def receipts(count: int, start: int = 0, *, maintained: dict[int, int] | None = None) -> list[bytes]:
    """The door's chain from seq 0; `maintained` maps seq -> counter of an applied statement."""
    key = scenario().door(DOOR).private_key
    chain, prev = [], GENESIS_HASH
    for seq in range(start + count):
        counter = (maintained or {}).get(seq)
        outcome = Outcome.MAINTAINED if counter is not None else Outcome.REFUSED
        reason = ReasonCode.OK if counter is not None else ReasonCode.UNKNOWN_KEY
        body = sign_receipt(
            Receipt(DOOR, seq, prev, None, outcome, reason, int(NOON.timestamp()), statement=counter), key
        )
        chain.append(body)
        prev = receipt_digest(body)
    return chain[start:]


@pytest.fixture
async def service():
    clock = FakeClock(NOON)
    async with service_client(clock) as client:
        yield client, await sign_in(client, "alice", "alice-pw")


async def upkeep(service, door_id: str = DOOR) -> dict[str, object]:
    client, driver = service
    answer = await client.get(f"/v1/doors/{door_id}/upkeep", headers=driver.headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def upload(service, blobs: list[bytes]) -> None:
    client, driver = service
    answer = await client.post(
        "/v1/receipts", json={"receipts": [b64url_encode(b) for b in blobs]}, headers=driver.headers
    )
    assert answer.status_code == 200, answer.text


async def test_phones_need_a_token_and_a_known_door(service) -> None:
    client, _ = service
    assert (await client.get(f"/v1/doors/{DOOR}/upkeep")).status_code == 401
    assert (await client.get("/v1/doors/NOPE/upkeep", headers=service[1].headers)).json()[
        "code"
    ] == "not_found"
    assert await upkeep(service) == {"door_id": DOOR, "statements": [], "receipts_through": None}


async def test_an_ack_is_queued_every_32_receipts_and_retired_by_the_doors_receipt(service) -> None:
    await upload(service, receipts(ACK_EVERY - 1))
    assert (await upkeep(service))["statements"] == []  # 31 receipts: not worth a round trip yet
    await upload(service, receipts(1, ACK_EVERY - 1))
    answer = await upkeep(service)
    [ack] = statements(answer)
    assert (ack.kind, ack.body, answer["receipts_through"]) == (
        StatementKind.RECEIPT_ACK,
        ACK_EVERY - 1,
        ACK_EVERY - 1,
    )
    assert statements(await upkeep(service)) == [ack]  # pending until the door says it applied it
    await upload(service, receipts(1, ACK_EVERY, maintained={ACK_EVERY: ack.counter}))
    assert (await upkeep(service))["statements"] == []


async def test_a_door_has_applied_what_its_newest_maintained_receipt_says_whatever_the_order(service) -> None:
    """Ingest keeps it in the door's head row: a late, older `maintained` receipt does not undo a newer one."""
    client, _ = service
    for _ in range(3):
        assert (await client.post(f"/v1/admin/doors/{DOOR}/time", headers=admin())).status_code == 200
    assert [s.counter for s in statements(await upkeep(service))] == [1, 2, 3]
    chain = receipts(5, maintained={1: 1, 3: 2})
    await upload(service, [chain[3]])  # the door applied statement 2
    assert [s.counter for s in statements(await upkeep(service))] == [3]
    await upload(service, chain[:3])  # arriving late: seq 1 applied statement 1
    assert [s.counter for s in statements(await upkeep(service))] == [3]
    await upload(service, [chain[4]])  # a newer receipt that is no maintenance changes nothing
    assert [s.counter for s in statements(await upkeep(service))] == [3]
    await upload(service, receipts(1, 5, maintained={1: 1, 3: 2, 5: 3}))
    assert (await upkeep(service))["statements"] == []


async def test_revocations_become_statements_once_and_time_is_signed_when_fetched(service) -> None:
    client, driver = service
    granted = (await driver.grant("S1", DOOR, "BC-1")).json()
    await client.post(
        "/v1/revocations", json={"grant_id": granted["grant_id"], "reason": "lost"}, headers=admin()
    )
    await client.post(
        "/v1/revocations", json={"handheld_key_id": driver.key_id, "reason": "stolen"}, headers=admin()
    )
    assert (await client.post(f"/v1/admin/doors/{DOOR}/time", headers=driver.headers)).status_code == 403
    assert (await client.post(f"/v1/admin/doors/{DOOR}/time", headers=admin())).status_code == 200
    first = statements(await upkeep(service))
    assert [s.body for s in first] == [  # revocations are turned into statements when a phone asks
        int(NOON.timestamp()),
        Revocation(grant_ids=(b64url_decode(granted["grant_id"]),)),
        Revocation(handheld_kids=(b64url_decode(driver.key_id),)),
    ]
    assert [s.counter for s in first] == [1, 2, 3]
    assert statements(await upkeep(service)) == first  # not queued twice
    assert [s.body for s in statements(await upkeep(service, "A-S"), "A-S")][:1] == [
        Revocation(handheld_kids=(b64url_decode(driver.key_id),))  # a lost handheld is revoked at every door
    ]


async def test_a_revocation_epoch_reaches_every_door_of_the_building(service) -> None:
    client, _ = service
    answer = await client.post("/v1/admin/buildings/A/revocation-epoch", headers=admin())
    assert answer.status_code == 204, answer.text
    for door_id in ("A-N", "A-S"):
        [epoch] = statements(await upkeep(service, door_id), door_id)
        assert epoch.body == Revocation(epoch=int(NOON.timestamp()))
    assert (await upkeep(service, "B-1"))["statements"] == []


async def test_carriers_are_accepted_and_dropped_with_owner_signed_trust_changes(service) -> None:
    client, driver = service
    assert (
        await client.delete("/v1/admin/buildings/A/carriers/parcelco", headers=admin())
    ).status_code == 204
    assert (await driver.grant("S1", DOOR, "BC-1")).json()["code"] == "carrier_not_accepted"
    [retire] = statements(await upkeep(service))
    assert (retire.kind, retire.body) == (StatementKind.TRUST_RETIRE, b"parcelco")
    assert (await client.put("/v1/admin/buildings/A/carriers/parcelco", headers=admin())).status_code == 204
    granted = await driver.grant("S1", DOOR, "BC-1")
    assert granted.status_code == 201
    add = statements(granted.json()["upkeep"])[1]
    assert add.kind is StatementKind.TRUST_ADD and isinstance(add.body, TrustedIssuerKey)
    assert (add.body.kid, add.body.issuer) == (b"parcelco", "parcelco")
    assert (await client.put("/v1/admin/buildings/Z/carriers/parcelco", headers=admin())).json()[
        "code"
    ] == "not_found"
    assert (await client.post("/v1/admin/carriers/nope/key-rotation", headers=admin())).json()[
        "code"
    ] == "not_found"


async def test_statements_queued_at_once_get_consecutive_counters() -> None:
    """Every statement takes the door's next counter under the door's row lock: none skipped or reused."""
    app = await make_app(FakeClock(NOON))
    database = app.state.service.database
    try:
        async with client_for(app) as client:
            driver = await sign_in(client, "alice", "alice-pw")
            answers = await asyncio.gather(
                *(client.post(f"/v1/admin/doors/{DOOR}/time", headers=admin()) for _ in range(8)),
                *(client.get(f"/v1/doors/{DOOR}/upkeep", headers=driver.headers) for _ in range(4)),
            )
            assert [answer.status_code for answer in answers] == [200] * 12
        counters = await database.fetch_all(
            "SELECT counter FROM door_statements WHERE door_id = $1 ORDER BY counter", DOOR
        )
    finally:
        await database.close()
    assert [row[0] for row in counters] == list(range(1, 9))


async def test_a_rotated_key_retires_the_stored_one_and_outlives_a_restart(tmp_path) -> None:
    clock = FakeClock(NOON)
    db_path = tmp_path / "service.sqlite3"
    for _ in range(2):  # each rotation on a fresh service over the same database, as another worker would
        app = await make_app(clock, db_path)
        try:
            async with client_for(app) as client:
                answer = await client.post("/v1/admin/carriers/parcelco/key-rotation", headers=admin())
                assert answer.status_code == 204, answer.text
        finally:
            await app.state.service.database.close()
    app = await make_app(clock, db_path)  # restarted: grants are signed with the newest key
    database = app.state.service.database
    try:
        async with client_for(app) as client:
            driver = await sign_in(client, "alice", "alice-pw")
            granted = await driver.grant("S1", DOOR, "BC-1")
            assert granted.status_code == 201, granted.text
            kid = parse_grant(unseal(b64url_decode(granted.json()["grant"]), DOOR)).kid
        queued = await database.fetch_all(
            "SELECT raw FROM door_statements WHERE door_id = $1 ORDER BY counter", DOOR
        )
    finally:
        await database.close()
    trust = statements({"statements": [b64url_encode(bytes(row[0])) for row in queued]})
    added = [s.body.kid for s in trust if isinstance(s.body, TrustedIssuerKey)]
    retired = [s.body for s in trust if s.kind is StatementKind.TRUST_RETIRE]
    # Each rotation retires the key the database held, whichever process made the one before.
    assert retired == [b"parcelco", added[0]] and kid == added[1]


async def test_a_key_rotated_by_one_worker_is_the_key_every_worker_signs_with(tmp_path) -> None:
    clock = FakeClock(NOON)
    db_path = tmp_path / "service.sqlite3"
    async with two_workers(clock, db_path) as (first, _, one, other):
        alice = await sign_in(other, "alice", "alice-pw")
        before = await alice.grant("S1", DOOR, "BC-1")
        assert parse_grant(unseal(b64url_decode(before.json()["grant"]), DOOR)).kid == b"parcelco"
        rotated = await one.post("/v1/admin/carriers/parcelco/key-rotation", headers=admin())
        assert rotated.status_code == 204, rotated.text
        after = await alice.grant("S1", DOOR, "BC-1")  # on the worker that did not rotate
        assert after.status_code == 201, after.text
        new_kid = parse_grant(unseal(b64url_decode(after.json()["grant"]), DOOR)).kid
        assert new_kid != b"parcelco"
        stored = await first.state.service.database.fetch_value(
            "SELECT kid FROM carriers WHERE id = $1", "parcelco"
        )
        assert new_kid == stored.encode("ascii")


async def test_a_carrier_accepted_after_another_worker_rotated_its_key_is_trusted_with_the_new_key(
    tmp_path,
) -> None:
    clock = FakeClock(NOON)
    db_path = tmp_path / "service.sqlite3"
    async with two_workers(clock, db_path) as (first, _, one, other):
        rotated = await one.post("/v1/admin/carriers/parcelco/key-rotation", headers=admin())
        assert rotated.status_code == 204, rotated.text
        accepted = await other.put("/v1/admin/buildings/C/carriers/parcelco", headers=admin())
        assert accepted.status_code == 204, accepted.text
        database = first.state.service.database
        stored = await database.fetch_value("SELECT kid FROM carriers WHERE id = $1", "parcelco")
        queued = await database.fetch_all(
            "SELECT raw FROM door_statements WHERE door_id = $1 ORDER BY counter", "C-1"
        )
    trust = statements({"statements": [b64url_encode(bytes(row[0])) for row in queued]}, "C-1")
    assert [s.body.kid for s in trust if isinstance(s.body, TrustedIssuerKey)] == [stored.encode("ascii")]


async def test_a_handheld_revoked_twice_on_one_worker_reaches_a_door_once_from_either_worker(
    tmp_path,
) -> None:
    """The fetch compares the count of revoked handhelds with those queued for the door (never reads
    them all): a repeated revocation is not counted again, and both workers see the same counts."""
    clock = FakeClock(NOON)
    db_path = tmp_path / "service.sqlite3"
    async with two_workers(clock, db_path) as (first, _, one, other):
        alice = await sign_in(other, "alice", "alice-pw")
        for _ in range(2):
            revoked = await one.post(
                "/v1/revocations",
                json={"handheld_key_id": alice.key_id, "reason": "stolen"},
                headers=admin(),
            )
            assert revoked.status_code == 204, revoked.text
        fetched = []
        for client in (other, one):
            answer = await client.get(f"/v1/doors/{DOOR}/upkeep", headers=alice.headers)
            assert answer.status_code == 200, answer.text
            fetched.append(statements(answer.json()))
        assert fetched[0] == fetched[1]
        assert [s.body for s in fetched[0]] == [Revocation(handheld_kids=(b64url_decode(alice.key_id),))]
        state = await upkeep_store.door_state(
            first.state.service.database, DOOR, NOON.isoformat(), int(StatementKind.RECEIPT_ACK)
        )
        assert state is not None and not state.revocations_unsent
