"""Over the emulated radio: hostile phones cannot block, stall or flood a door.

On old main one silent phone held the only link forever (the door stopped advertising), and
every bad attempt wrote its own receipt.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from bumble.att import ATT_Error

from mock_building.door.link_guard import FIRST_REQUEST_S, MAX_LINKS
from mock_building.door.rate_limit import LINK_ATTEMPTS_MAX, REFUSAL_RECEIPTS_PER_WINDOW
from mock_building.door.store import DoorStore
from protocol import gatt
from protocol.reasons import Outcome, ReasonCode
from protocol.receipt import decode_receipt
from tests.door_air import air_door

pytestmark = pytest.mark.timeout(90)

DROP_TIMEOUT_S = FIRST_REQUEST_S + 5.0


async def test_silent_phones_do_not_block_an_honest_driver_and_are_dropped(tmp_path: Path) -> None:
    async with air_door(tmp_path) as door:
        silent = [await door.phone(discover=False) for _ in range(3)]
        assert door.door.controller.state.connected == 3  # several links at once, still advertising
        result = await door.honest_unlock()
        assert (result.outcome, result.reason) == (Outcome.UNLOCKED, ReasonCode.OK)
        async with asyncio.timeout(DROP_TIMEOUT_S):
            for phone in silent:
                await phone.disconnected.wait()
        assert door.door.controller.state.links_dropped == 3
        again = await door.phone(discover=False)  # a dropped peer is backed off: cut at once
        async with asyncio.timeout(DROP_TIMEOUT_S):
            await again.disconnected.wait()
        assert door.door.controller.state.links_dropped == 4
    receipts = [decode_receipt(body) for _, body in DoorStore(tmp_path).receipts()]
    flood = [r for r in receipts if r.reason is ReasonCode.RATE_LIMITED]
    assert len(flood) == 1 and flood[0].count == 4 and flood[0].outcome is Outcome.REFUSED


async def test_a_flood_of_bad_requests_costs_a_bounded_number_of_receipts(tmp_path: Path) -> None:
    phones, writes_per_phone = 8, LINK_ATTEMPTS_MAX + 1
    async with air_door(tmp_path) as door:
        refusals: list[int] = []
        for _ in range(phones):
            phone = await door.phone(subscribe=False)
            for _ in range(writes_per_phone):
                await phone.read(gatt.CHALLENGE_CHAR_UUID)
                try:
                    await phone.write(gatt.UNLOCK_CHAR_UUID, b"\xa0")
                except ATT_Error as err:
                    refusals.append(err.error_code)
            async with asyncio.timeout(5):  # a link past its attempts is cut
                await phone.disconnected.wait()
        # Past the window's refusal receipts, refusals are answered 0x81 too (and only counted).
        attempts = phones * writes_per_phone
        assert set(refusals) == {gatt.ATT_ERROR_RATE_LIMITED}
        limited = len(refusals)
        assert limited == attempts - REFUSAL_RECEIPTS_PER_WINDOW == door.door.controller.state.rate_limited
        result = await door.honest_unlock()  # an honest driver still gets in
        assert result.reason is ReasonCode.OK
    receipts = [decode_receipt(body) for _, body in DoorStore(tmp_path).receipts()]
    malformed = [r for r in receipts if r.reason is ReasonCode.MALFORMED]
    counted = [r for r in receipts if r.reason is ReasonCode.RATE_LIMITED]
    assert len(malformed) == REFUSAL_RECEIPTS_PER_WINDOW
    # The counted receipt stands for the rate-limited attempts and the links cut for them.
    assert len(counted) == 1 and counted[0].count == attempts - REFUSAL_RECEIPTS_PER_WINDOW + phones
    assert len(receipts) == REFUSAL_RECEIPTS_PER_WINDOW + 2  # + the honest unlock


async def test_a_full_door_still_lets_the_honest_driver_in_at_once(tmp_path: Path) -> None:
    """MAX_LINKS silent links: the honest link evicts the oldest instead of waiting for a slot."""
    async with air_door(tmp_path) as door:
        silent = [await door.phone(discover=False) for _ in range(MAX_LINKS)]
        assert door.door.controller.state.connected == MAX_LINKS
        started = time.monotonic()
        result = await door.honest_unlock()
        assert result.reason is ReasonCode.OK
        assert time.monotonic() - started < FIRST_REQUEST_S  # not after a silent link timed out
        assert silent[0].disconnected.is_set() and door.door.controller.state.links_dropped >= 1
