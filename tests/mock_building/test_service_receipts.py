"""Receipt upload: signatures, hash chain, duplicates, gaps, tampering; and the audit rows they make."""

from __future__ import annotations

import pytest

from mock_building.service.clock import FakeClock
from mock_building.service.storage import SqliteDatabase
from protocol.api import b64url_decode, b64url_encode
from protocol.reasons import Outcome, ReasonCode
from protocol.receipt import GENESIS_HASH, Receipt, receipt_digest, sign_receipt
from tests.service_support import MANAGER_A, NOON, scenario, service_client, sign_in
from tests.service_support import door_chain as chain

pytestmark = pytest.mark.usefixtures("service_backend")

T0 = int(NOON.timestamp())


@pytest.fixture
async def driver():
    async with service_client(FakeClock(NOON)) as client:
        yield await sign_in(client, "alice", "alice-pw")


async def upload(driver, blobs: list[bytes]):
    answer = await driver.client.post(
        "/v1/receipts", json={"receipts": [b64url_encode(b) for b in blobs]}, headers=driver.headers
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def statuses(body) -> list[tuple[str, str]]:
    return [(r["status"], r["reason"]) for r in body["results"]]


async def test_valid_chain_in_any_order_then_duplicates(driver):
    blobs = chain("A-N", 4)
    first = await upload(driver, [blobs[2], blobs[0], blobs[3], blobs[1]])
    assert statuses(first) == [("accepted", "ok")] * 4
    assert [r["seq"] for r in first["results"]] == [2, 0, 3, 1]  # results follow the upload order
    assert first["gaps"] == []
    again = await upload(driver, blobs[1:3])
    assert statuses(again) == [("duplicate", "receipt_duplicate")] * 2


async def test_gap_is_reported_until_filled(driver):
    blobs = chain("A-N", 5)
    body = await upload(driver, [blobs[0], blobs[3], blobs[4]])
    assert statuses(body) == [("accepted", "ok")] * 3
    assert body["gaps"] == [{"door_id": "A-N", "first_seq": 1, "last_seq": 2}]
    filled = await upload(driver, [blobs[2], blobs[1]])
    assert statuses(filled) == [("accepted", "ok")] * 2 and filled["gaps"] == []


async def test_a_late_first_receipt_leaves_a_gap_from_zero(driver):
    body = await upload(driver, chain("A-S", 3)[2:])
    assert body["gaps"] == [{"door_id": "A-S", "first_seq": 0, "last_seq": 1}]


async def test_tampered_signature_is_rejected(driver):
    blob = bytearray(chain("A-N", 1)[0])
    blob[-1] ^= 0x01  # flip a bit of the signature
    body = await upload(driver, [bytes(blob)])
    assert statuses(body) == [("rejected", "receipt_bad_signature")]


async def test_receipt_signed_by_another_door_key_is_rejected(driver):
    receipt = Receipt("A-N", 0, GENESIS_HASH, None, Outcome.REFUSED, ReasonCode.MALFORMED, T0)
    forged = sign_receipt(receipt, scenario().door("A-S").private_key)
    body = await upload(driver, [forged])
    assert statuses(body) == [("rejected", "receipt_bad_signature")]


async def test_broken_links_and_forks_are_rejected_and_not_stored(driver):
    good = chain("A-N", 3)
    assert statuses(await upload(driver, [good[0], good[2]])) == [("accepted", "ok")] * 2
    key = scenario().door("A-N").private_key
    # seq 1 whose prev_hash is wrong: does not link to the stored seq 0.
    bad_prev = sign_receipt(
        Receipt("A-N", 1, bytes(32), None, Outcome.REFUSED, ReasonCode.MALFORMED, T0), key
    )
    # seq 1 that links to seq 0 but is not what seq 2 was chained to (a rewritten history).
    rewritten = sign_receipt(
        Receipt("A-N", 1, receipt_digest(good[0]), None, Outcome.REFUSED, ReasonCode.EXPIRED, T0 + 99), key
    )
    # a different receipt for an already stored seq: a fork.
    fork = sign_receipt(Receipt("A-N", 0, GENESIS_HASH, None, Outcome.REFUSED, ReasonCode.EXPIRED, T0), key)
    body = await upload(driver, [bad_prev, rewritten, fork])
    assert statuses(body) == [("rejected", "chain_broken")] * 3
    assert body["gaps"] == [{"door_id": "A-N", "first_seq": 1, "last_seq": 1}]
    assert statuses(await upload(driver, [good[1]])) == [("accepted", "ok")]


async def test_garbage_and_unknown_doors(driver):
    stranger = Receipt("ZZ-9", 0, GENESIS_HASH, None, Outcome.REFUSED, ReasonCode.MALFORMED, T0)
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    body = await upload(driver, [b"\xff\x00junk", sign_receipt(stranger, Ed25519PrivateKey.generate())])
    assert statuses(body) == [("rejected", "malformed"), ("rejected", "unknown_door")]
    not_b64 = await driver.client.post("/v1/receipts", json={"receipts": ["***"]}, headers=driver.headers)
    assert not_b64.status_code == 400 and not_b64.json()["code"] == "invalid_request"


async def test_receipts_feed_the_building_audit_with_pseudonyms_only(driver):
    client = driver.client
    grant = (await driver.grant("S1", "A-N", "BC-1")).json()
    grant_id = b64url_decode(grant["grant_id"])
    await upload(driver, chain("A-N", 2, grant_ids={1: grant_id}))
    answer = await client.get(
        "/v1/audit", params={"building_id": "A"}, headers={"Authorization": f"Bearer {MANAGER_A}"}
    )
    assert answer.status_code == 200
    events = answer.json()
    assert [(e["outcome"], e["reason"], e["door_id"], e["stop_id"]) for e in events] == [
        ("grant_issued", "ok", "A-N", "S1"),
        ("door_refused", "malformed", "A-N", None),
        ("door_unlocked", "ok", "A-N", "S1"),
    ]
    assert {e["carrier"] for e in events} == {"parcelco", None}
    # The receipt without a grant (seq 0, malformed request) names no driver, and is shown all the same.
    refs = {e["driver_ref"] for e in events}
    assert len(refs) == 2 and None in refs and all(ref.startswith("drv-") for ref in refs - {None})
    assert "alice" not in answer.text.lower()
    assert set(events[0]) == {
        "time",
        "building_id",
        "door_id",
        "stop_id",
        "carrier",
        "outcome",
        "reason",
        "driver_ref",
    }
    assert answer.headers["x-audit-cursor"]
    later = await client.get(
        "/v1/audit",
        params={"building_id": "A", "after": answer.headers["x-audit-cursor"]},
        headers={"Authorization": f"Bearer {MANAGER_A}"},
    )
    assert later.json() == []


async def test_audit_feed_is_for_the_buildings_manager_only(driver):
    other = await driver.client.get(
        "/v1/audit", params={"building_id": "B"}, headers={"Authorization": f"Bearer {MANAGER_A}"}
    )
    as_driver = await driver.client.get("/v1/audit", params={"building_id": "A"}, headers=driver.headers)
    assert other.status_code == as_driver.status_code == 403
    assert other.json()["code"] == "forbidden"


async def test_pseudonyms_differ_between_buildings():
    from mock_building.service.audit import pseudonym

    def ref(building_id: str, driver_id: str) -> str:
        return pseudonym(b"k" * 32, building_id, driver_id)

    assert ref("A", "alice") == ref("A", "alice") != ref("B", "alice")
    assert ref("A", "alice") != ref("A", "bob")


async def test_an_audit_log_gives_each_driver_the_pseudonym_of_its_secret_before_and_after_its_cache_fills():
    from mock_building.service.audit import _REFS_MAX, AuditLog, pseudonym

    database = SqliteDatabase.open()
    try:
        log, other = AuditLog(database, b"s" * 32), AuditLog(database, b"t" * 32)
        pairs = [
            (building, f"driver-{n}") for n in range(_REFS_MAX // 2 + 1) for building in ("A", "B", None)
        ]
        for _ in range(2):  # the second round is served from the cache, refilled after it was cleared once
            assert [log.driver_ref(*pair) for pair in pairs] == [
                pseudonym(b"s" * 32, *pair) for pair in pairs
            ]
        assert log.driver_ref("A", "alice") != other.driver_ref("A", "alice")
    finally:
        await database.close()
