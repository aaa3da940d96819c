"""Door receipts: signatures, and chain checking with gaps, breaks and duplicates."""

from __future__ import annotations

import pytest

from protocol.errors import DecodeError, ReceiptError
from protocol.keys import public_key_bytes
from protocol.reasons import Outcome, ReasonCode
from protocol.receipt import (
    GENESIS_HASH,
    RECEIPT_MAX,
    ChainLink,
    Receipt,
    decode_receipt,
    receipt_digest,
    sign_receipt,
    verify_chain,
    verify_receipt,
)
from tests.protocol_world import DOOR_ID, DOOR_KEY, DOOR_PUB, GRANT_ID, NOW, OTHER_KEY, chain


def test_round_trip_and_size() -> None:
    data = chain(1)[0]
    receipt = verify_receipt(data, DOOR_PUB)
    assert receipt == decode_receipt(data)
    assert sign_receipt(receipt, DOOR_KEY) == data
    largest = Receipt(
        DOOR_ID, 2**64 - 1, GENESIS_HASH, GRANT_ID, Outcome.FAULT, ReasonCode.DOOR_BUSY, 2**64 - 1
    )
    assert len(sign_receipt(largest, DOOR_KEY)) <= RECEIPT_MAX


def test_wrong_key_is_a_bad_signature() -> None:
    with pytest.raises(ReceiptError) as caught:
        verify_receipt(chain(1)[0], public_key_bytes(OTHER_KEY))
    assert caught.value.reason is ReasonCode.RECEIPT_BAD_SIGNATURE


def test_invalid_fields_are_refused() -> None:
    with pytest.raises(ReceiptError):
        Receipt(DOOR_ID, -1, GENESIS_HASH, None, Outcome.REFUSED, ReasonCode.MALFORMED, NOW)
    with pytest.raises(DecodeError):
        decode_receipt(chain(1)[0][:-1])


def test_complete_chain_in_any_order() -> None:
    receipts = chain(5)
    report = verify_chain(list(reversed(receipts)), DOOR_PUB, DOOR_ID)
    assert [r.seq for r in report.accepted] == [0, 1, 2, 3, 4]
    assert report.gaps == () and report.breaks == () and report.rejected == ()
    assert report.head == ChainLink(4, receipt_digest(receipts[4]))


def test_continues_from_previous_batch() -> None:
    receipts = chain(4)
    first = verify_chain(receipts[:2], DOOR_PUB, DOOR_ID)
    second = verify_chain(receipts[1:], DOOR_PUB, DOOR_ID, previous=first.head)
    assert [r.seq for r in second.accepted] == [2, 3]
    assert second.rejected == ((0, ReasonCode.RECEIPT_DUPLICATE),)
    assert second.breaks == () and second.gaps == ()


def test_gap_is_reported() -> None:
    receipts = chain(6)
    report = verify_chain([receipts[0], receipts[3], receipts[5]], DOOR_PUB, DOOR_ID)
    assert report.gaps == ((1, 2), (4, 4))
    assert report.breaks == ()


def test_missing_genesis_is_a_gap() -> None:
    assert verify_chain(chain(2)[1:], DOOR_PUB, DOOR_ID).gaps == ((0, 0),)


def test_fork_is_a_break() -> None:
    receipts = chain(3)
    forged = Receipt(DOOR_ID, 2, bytes(range(32)), None, Outcome.REFUSED, ReasonCode.EXPIRED, NOW)
    report = verify_chain([receipts[0], receipts[1], sign_receipt(forged, DOOR_KEY)], DOOR_PUB, DOOR_ID)
    assert report.breaks == (2,)


def test_rejections_carry_reasons() -> None:
    good = chain(2)
    other_door = chain(1, door_id="B12-SIDE")[0]
    tampered = bytearray(good[1])
    tampered[-1] ^= 1
    report = verify_chain([good[0], good[0], other_door, bytes(tampered), b"\x00"], DOOR_PUB, DOOR_ID)
    assert report.rejected == (
        (1, ReasonCode.RECEIPT_DUPLICATE),
        (2, ReasonCode.RECEIPT_WRONG_DOOR),
        (3, ReasonCode.RECEIPT_BAD_SIGNATURE),
        (4, ReasonCode.MALFORMED),
    )
    assert [r.seq for r in report.accepted] == [0]
