"""GATT profile messages, the advertisement, and the HTTP API models."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from pydantic import ValidationError

from protocol import gatt
from protocol.api import (
    GrantResponse,
    Problem,
    ReceiptUpload,
    RevocationRequest,
    Route,
    b64url_decode,
    b64url_encode,
)
from protocol.errors import DecodeError, UnsupportedVersionError
from protocol.reasons import Outcome, ReasonCode
from protocol.versioned import encode_versioned
from tests.protocol_world import DOOR_ID, GRANT_ID, KID

MESSAGES = [
    gatt.DoorInfo(door_id=DOOR_ID, trusted_kids=(KID, b"as-2025z")),
    gatt.Challenge(nonce=bytes(range(32))),
    gatt.UnlockResult(outcome=Outcome.REFUSED, reason=ReasonCode.EXPIRED, receipt=b"\xd2" * 170),
    gatt.UnlockResult(outcome=Outcome.UNLOCKED, reason=ReasonCode.OK, receipt=b"\xd2" * 170, open_seconds=8),
    gatt.ReceiptQuery(from_seq=41),
    gatt.ReceiptBatch(receipts=(b"\x01" * 150, b"\x02" * 150), more=True),
]


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: type(m).__name__)
def test_messages_round_trip(message: object) -> None:
    data = bytes(message)  # type: ignore[call-overload]
    assert type(message).from_bytes(data) == message  # type: ignore[attr-defined]
    assert len(data) <= gatt.ATT_MAX_VALUE


def test_unlock_result_fits_one_indication_at_min_mtu() -> None:
    biggest = gatt.UnlockResult(Outcome.FAULT, ReasonCode.DOOR_BUSY, b"\x00" * 192)
    assert len(bytes(biggest)) <= gatt.MIN_ATT_MTU - 3


def test_an_unlocked_result_with_the_longest_hold_open_fits_its_cap() -> None:
    biggest = gatt.UnlockResult(
        Outcome.UNLOCKED, ReasonCode.OK, b"\x00" * 192, open_seconds=gatt.OPEN_SECONDS_MAX
    )
    assert len(bytes(biggest)) <= 208
    assert gatt.UnlockResult.from_bytes(bytes(biggest)) == biggest


def _result_with_open_seconds(outcome: Outcome, value: object) -> bytes:
    return encode_versioned({1: int(outcome), 2: 0, 3: b"\xd2" * 170, 4: value})


@pytest.mark.parametrize(
    ("outcome", "value"),
    [(Outcome.REFUSED, 5), (Outcome.FAULT, 5), (Outcome.UNLOCKED, -1), (Outcome.UNLOCKED, 5.0),
     (Outcome.UNLOCKED, True), (Outcome.UNLOCKED, "5"), (Outcome.UNLOCKED, gatt.OPEN_SECONDS_MAX + 1)],
)  # fmt: skip
def test_open_seconds_is_strict(outcome: Outcome, value: object) -> None:
    with pytest.raises(DecodeError):
        gatt.UnlockResult.from_bytes(_result_with_open_seconds(outcome, value))


def test_open_seconds_is_not_encoded_for_a_refusal() -> None:
    with pytest.raises(DecodeError):
        bytes(gatt.UnlockResult(Outcome.REFUSED, ReasonCode.EXPIRED, b"\xd2" * 170, open_seconds=5))


def test_unlock_result_knows_no_fifth_field() -> None:
    data = encode_versioned({1: 0, 2: 0, 3: b"\xd2" * 170, 4: 5, 5: 0})
    with pytest.raises(DecodeError):
        gatt.UnlockResult.from_bytes(data)


def test_future_version_is_reported_as_such() -> None:
    with pytest.raises(UnsupportedVersionError):
        gatt.Challenge.from_bytes(bytes.fromhex("a200020150") + bytes(16))


def test_challenge_too_short() -> None:
    with pytest.raises(DecodeError):
        gatt.Challenge.from_bytes(
            bytes(gatt.Challenge(nonce=bytes(32)))[:4] + bytes.fromhex("4f") + bytes(15)
        )


def test_advertisement_fits_legacy_pdu_and_carries_only_the_door_id() -> None:
    data = gatt.advertising_data(DOOR_ID)
    assert len(data) <= gatt.ADV_MAX
    service_data = bytes(gatt.AdvertisedDoor(DOOR_ID))
    assert service_data == b"\x01" + DOOR_ID.encode()
    assert data.endswith(uuid.UUID(gatt.SERVICE_UUID).bytes[::-1] + service_data)
    assert gatt.AdvertisedDoor.from_bytes(service_data).door_id == DOOR_ID
    assert len(gatt.scan_response_data()) == 18


@pytest.mark.parametrize("bad", [b"", b"\x01", b"\x02B12", b"\x01B12 MAIN", b"\x01\xff", b"\x01" + b"A" * 9])
def test_bad_service_data(bad: bytes) -> None:
    with pytest.raises((DecodeError, UnsupportedVersionError)):
        gatt.AdvertisedDoor.from_bytes(bad)


def test_uuids_are_distinct() -> None:
    uuids = [gatt.SERVICE_UUID, gatt.DOOR_INFO_CHAR_UUID, gatt.CHALLENGE_CHAR_UUID, gatt.UNLOCK_CHAR_UUID,
             gatt.RESULT_CHAR_UUID, gatt.RECEIPTS_CHAR_UUID]  # fmt: skip
    assert len({uuid.UUID(u) for u in uuids}) == len(uuids)


@pytest.mark.parametrize("data", [b"", b"\x00", b"\xff" * 5, bytes(range(40))])
def test_b64url_round_trip(data: bytes) -> None:
    text = b64url_encode(data)
    assert "=" not in text and b64url_decode(text) == data


@pytest.mark.parametrize("text", ["AA==", "A", "AB", "a+b/", "éé"])
def test_b64url_refuses_non_canonical(text: str) -> None:
    with pytest.raises(ValueError, match="base64url"):
        b64url_decode(text)


def test_grant_response_json_round_trip() -> None:
    response = GrantResponse(grant=b"\xd2\x84", grant_id=GRANT_ID, door_id=DOOR_ID,
                             expires_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))  # fmt: skip
    text = response.model_dump_json()
    assert '"grant":"0oQ"' in text
    assert GrantResponse.model_validate_json(text) == response


def test_models_reject_bad_input() -> None:
    with pytest.raises(ValidationError):
        GrantResponse.model_validate(
            {"grant": "0oQ", "grant_id": "AAAA", "door_id": DOOR_ID, "expires_at": "2026-01-01T00:00:00Z"}
        )
    with pytest.raises(ValidationError):
        ReceiptUpload.model_validate({"receipts": ["AA=="]})
    with pytest.raises(ValidationError):
        RevocationRequest(reason="lost")
    with pytest.raises(ValidationError):
        Route.model_validate({"route_id": "r", "date": "2026-01-01", "stops": [], "extra": 1})


def test_problem_uses_the_stable_slug() -> None:
    problem = Problem.of(ReasonCode.OUTSIDE_DELIVERY_WINDOW, "Outside the delivery window")
    assert (problem.code, problem.status, problem.reason) == (
        "outside_delivery_window",
        422,
        ReasonCode.OUTSIDE_DELIVERY_WINDOW,
    )
    assert Problem.model_validate({"title": "x", "status": 418, "code": "from_the_future"}).reason is None


def test_reason_slugs_are_unique_and_invertible() -> None:
    assert all(ReasonCode.from_slug(r.slug) is r for r in ReasonCode)


def test_door_info_with_the_most_trusted_kids() -> None:
    info = gatt.DoorInfo(door_id=DOOR_ID, trusted_kids=tuple(bytes([i]) * 16 for i in range(16)))
    assert gatt.DoorInfo.from_bytes(bytes(info)) == info
