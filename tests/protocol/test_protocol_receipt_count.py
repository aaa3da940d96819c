"""Coalesced receipts (SPEC §7): field 8 `count`, present only for 2 or more events."""

from __future__ import annotations

import cbor2
import pytest

from protocol import cbor_strict
from protocol.errors import DecodeError, ReceiptError
from protocol.reasons import Outcome, ReasonCode
from protocol.receipt import COUNT_MAX, GENESIS_HASH, RECEIPT_MAX, Receipt, decode_receipt, sign_receipt
from protocol.sign1 import sign1
from tests.protocol_world import DOOR_ID, DOOR_KEY, GRANT_ID, NOW


def _flood(count: int) -> Receipt:
    return Receipt(DOOR_ID, 7, GENESIS_HASH, None, Outcome.REFUSED, ReasonCode.RATE_LIMITED, NOW, count=count)


def test_count_round_trips_and_is_omitted_for_one_event() -> None:
    counted = sign_receipt(_flood(12), DOOR_KEY)
    assert decode_receipt(counted).count == 12
    single = Receipt(DOOR_ID, 7, GENESIS_HASH, None, Outcome.REFUSED, ReasonCode.MALFORMED, NOW)
    assert 8 not in cbor2.loads(cbor2.loads(sign_receipt(single, DOOR_KEY)).value[2])


def test_largest_counted_receipt_fits_the_cap() -> None:
    largest = Receipt(
        DOOR_ID,
        2**64 - 1,
        GENESIS_HASH,
        GRANT_ID,
        Outcome.ALERT,
        ReasonCode.UNLOCKED_NOT_OPENED,
        2**64 - 1,
        count=COUNT_MAX,
    )
    assert len(sign_receipt(largest, DOOR_KEY)) <= RECEIPT_MAX


@pytest.mark.parametrize("count", [0, 1])
def test_count_of_zero_or_one_on_the_wire_is_malformed(count: int) -> None:
    payload = cbor_strict.encode({0: 1, 1: DOOR_ID, 2: 7, 3: GENESIS_HASH, 5: 1, 6: 111, 7: NOW, 8: count})
    with pytest.raises(DecodeError):
        decode_receipt(sign1(payload, DOOR_KEY, DOOR_ID.encode()))


def test_count_out_of_range_is_refused() -> None:
    with pytest.raises(ReceiptError):
        _flood(COUNT_MAX + 1)
