"""The bleak door link against real emulated doors: bumble on the virtual radio, blesim backend."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from bumble.device import Device

from driver_app.adapters.ble_sim import BumbleClientBackend, BumbleScannerBackend
from driver_app.adapters.door_bleak import BleakDoorLink
from driver_app.core.errors import DoorRefused, DoorUnreachable
from driver_app.core.ports import DoorPhase, NearbyDoor
from mock_building.door.controller import DoorController
from mock_building.door.rate_limit import REFUSAL_RECEIPTS_PER_WINDOW
from mock_building.door.runner import start_door
from mock_building.radio import VirtualRadio
from protocol.keys import public_key_bytes
from protocol.receipt import verify_receipt
from protocol.unlock import CHALLENGE_MIN, build_unlock_request
from tests.door_support import DOOR_ID, DOOR_KEY, Issuer, door_config, fixed_key

pytestmark = pytest.mark.timeout(30)

HANDHELD = fixed_key()


@dataclass
class Door:
    controller: DoorController
    issuer: Issuer
    device: Device

    def grant(self) -> bytes:
        return self.issuer.grant(HANDHELD, now=int(time.time()))


@pytest.fixture
async def door(radio: VirtualRadio, tmp_path: Path) -> AsyncIterator[Door]:
    issuer = Issuer()
    config = door_config(tmp_path, issuer, hold_open_s=60.0)
    running = await start_door(config, radio.add_peripheral(config.name, config.address), air=radio)
    yield Door(running.controller, issuer, running.peripheral.device)
    await running.stop()


@pytest.fixture
def link() -> BleakDoorLink:
    return BleakDoorLink(
        scanner_backend=BumbleScannerBackend, client_backend=BumbleClientBackend, result_timeout=5.0
    )


class Attempt:
    """make_request/on_phase as the workflow passes them, recording what the link did."""

    def __init__(self, grant: bytes) -> None:
        self.grant = grant
        self.challenges: list[bytes] = []
        self.phases: list[DoorPhase] = []

    def make_request(self, challenge: bytes) -> bytes:
        self.challenges.append(challenge)
        return build_unlock_request(self.grant, HANDHELD, challenge, DOOR_ID)


async def test_find_doors_reads_the_door_id_and_rssi_from_the_advertisement(
    door: Door, link: BleakDoorLink
) -> None:
    assert await link.find_doors([DOOR_ID, "OTHER"], timeout=5.0) == [NearbyDoor(DOOR_ID, -55)]
    assert await link.find_doors(["OTHER"], timeout=0.3) == []


async def test_a_door_out_of_range_is_not_found(door: Door, link: BleakDoorLink) -> None:
    door.controller.faults.set(out_of_range=True)
    assert await link.find_doors([DOOR_ID], timeout=0.5) == []


async def test_full_unlock(door: Door, link: BleakDoorLink) -> None:
    await link.find_doors([DOOR_ID], timeout=5.0)
    attempt = Attempt(door.grant())
    outcome = await link.unlock(DOOR_ID, attempt.make_request, attempt.phases.append)
    assert (outcome.door_id, outcome.accepted, outcome.reason) == (DOOR_ID, True, "ok")
    assert outcome.open_seconds == 60  # the door fixture holds open for 60 s
    assert attempt.phases == [DoorPhase.CONNECTING, DoorPhase.VERIFYING]
    assert len(attempt.challenges) == 1 and len(attempt.challenges[0]) >= CHALLENGE_MIN
    assert outcome.receipt is not None
    assert verify_receipt(outcome.receipt, public_key_bytes(DOOR_KEY)).door_id == DOOR_ID
    assert door.controller.state.locked is False


async def test_unlock_finds_the_door_itself_when_not_scanned_before(door: Door, link: BleakDoorLink) -> None:
    attempt = Attempt(door.grant())
    assert (await link.unlock(DOOR_ID, attempt.make_request, attempt.phases.append)).accepted


async def test_a_replayed_grant_is_refused_with_a_receipt(door: Door, link: BleakDoorLink) -> None:
    grant = door.grant()
    first = await link.unlock(DOOR_ID, Attempt(grant).make_request, lambda _: None)
    again = await link.unlock(DOOR_ID, Attempt(grant).make_request, lambda _: None)
    assert first.accepted and (again.accepted, again.reason) == (False, "grant_already_used")
    assert again.receipt is not None and again.receipt != first.receipt


async def test_a_jammed_door_is_not_an_open_door(door: Door, link: BleakDoorLink) -> None:
    door.controller.faults.set(jammed=True)
    outcome = await link.unlock(DOOR_ID, Attempt(door.grant()).make_request, lambda _: None)
    assert (outcome.accepted, outcome.reason, outcome.open_seconds) == (False, "door_jammed", None)


async def test_a_drop_mid_write_is_retryable_and_consumes_nothing(door: Door, link: BleakDoorLink) -> None:
    grant = door.grant()
    door.controller.faults.set(drop_mid_write=True)
    with pytest.raises(DoorUnreachable) as caught:
        await link.unlock(DOOR_ID, Attempt(grant).make_request, lambda _: None)
    assert caught.value.reason == "door_link_lost" and caught.value.retryable
    assert door.controller.state.locked is True
    door.controller.faults.set(drop_mid_write=False)
    assert (await link.unlock(DOOR_ID, Attempt(grant).make_request, lambda _: None)).accepted


async def test_a_request_the_core_refuses_to_build_still_disconnects(door: Door, link: BleakDoorLink) -> None:
    def refuse(challenge: bytes) -> bytes:
        raise DoorRefused("wrong_door", "grant is for another door")

    with pytest.raises(DoorRefused):
        await link.unlock(DOOR_ID, refuse, lambda _: None)
    # the door is free again: a second connection works at once
    assert (await link.unlock(DOOR_ID, Attempt(door.grant()).make_request, lambda _: None)).accepted


async def test_no_door_at_all_is_door_not_found(radio: VirtualRadio) -> None:
    link = BleakDoorLink(
        scanner_backend=BumbleScannerBackend, client_backend=BumbleClientBackend, connect_timeout=0.5
    )
    with pytest.raises(DoorUnreachable) as caught:
        await link.unlock(DOOR_ID, lambda c: b"", lambda _: None)
    assert caught.value.reason == "door_not_found"


async def test_a_result_too_big_for_the_mtu_is_read_after_an_empty_indication(
    door: Door, link: BleakDoorLink
) -> None:
    # 23, the smallest: the challenge (37 B) takes a Read and a Read Blob that continues the same
    # nonce, and the result (~173 B) does not fit an indication.
    door.device.gatt_server.max_mtu = 23
    outcome = await link.unlock(DOOR_ID, Attempt(door.grant()).make_request, lambda _: None)
    assert (outcome.accepted, outcome.reason) == (True, "ok")
    assert outcome.receipt is not None
    assert verify_receipt(outcome.receipt, public_key_bytes(DOOR_KEY)).door_id == DOOR_ID


async def test_a_door_that_rate_limits_is_reported_as_rate_limited_not_a_lost_link(
    door: Door, link: BleakDoorLink
) -> None:
    """Past the window's refusal receipts the door answers ATT 0x81 and decides nothing."""
    for _ in range(REFUSAL_RECEIPTS_PER_WINDOW):
        refused = await link.unlock(DOOR_ID, lambda _challenge: b"\xa0", lambda _: None)
        assert refused.reason == "malformed"
    with pytest.raises(DoorUnreachable) as caught:
        await link.unlock(DOOR_ID, lambda _challenge: b"\xa0", lambda _: None)
    assert caught.value.reason == "rate_limited" and caught.value.retryable
    assert door.controller.state.rate_limited == 1
