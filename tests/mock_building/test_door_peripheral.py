"""Doors on the virtual radio, reached through bleak's public API and the blesim backend."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from bleak import BleakClient, BleakScanner
from bleak.backends.device import BLEDevice
from bleak.exc import BleakError, BleakGATTProtocolError

from driver_app.adapters.ble_sim import (
    BumbleClientBackend,
    BumbleScannerBackend,
    configure_sim_radio,
    detach_sim_radio,
)
from mock_building.door.controller import DoorController
from mock_building.door.faults import DoorFaults
from mock_building.door.peripheral import DoorPeripheral
from mock_building.door.runner import start_door
from mock_building.door.transport import run_door_on_transport
from mock_building.radio import VirtualRadio
from protocol import gatt
from protocol.keys import public_key_bytes
from protocol.reasons import Outcome, ReasonCode
from protocol.receipt import verify_chain, verify_receipt
from tests.door_support import DOOR_ADDRESS, DOOR_ID, DOOR_KEY, Issuer, door_config, fixed_key, unlock_request

pytestmark = pytest.mark.timeout(30)

EVENT_TIMEOUT_S = 5.0
ABSENCE_WINDOW_S = 0.5
"""How long a scan must not see a door to call it gone (the door advertises every 30 ms)."""
HANDHELD = fixed_key()
# bleak reports 128-bit UUIDs in lower case
SERVICE_DATA_KEY = gatt.SERVICE_UUID.lower()


@dataclass
class Door:
    controller: DoorController
    peripheral: DoorPeripheral
    issuer: Issuer

    def grant(self) -> bytes:
        return self.issuer.grant(HANDHELD, now=int(time.time()))


@pytest.fixture
async def attached_radio() -> AsyncIterator[tuple[VirtualRadio, int]]:
    """A radio and its attach port, with this process's bleak backend attached to it."""
    radio = VirtualRadio()
    port = await radio.serve(port=0)
    configure_sim_radio("127.0.0.1", port)
    yield radio, port
    await detach_sim_radio()
    await radio.close()


@pytest.fixture
def radio(attached_radio: tuple[VirtualRadio, int]) -> VirtualRadio:
    return attached_radio[0]


@pytest.fixture
async def door(radio: VirtualRadio, tmp_path: Path) -> AsyncIterator[Door]:
    issuer = Issuer()
    config = door_config(tmp_path, issuer, hold_open_s=60.0)
    running = await start_door(config, radio.add_peripheral(config.name, config.address), air=radio)
    yield Door(running.controller, running.peripheral, issuer)
    await running.stop()


async def find(address: str = DOOR_ADDRESS, timeout: float = EVENT_TIMEOUT_S) -> BLEDevice | None:
    return await BleakScanner.find_device_by_address(address, timeout=timeout, backend=BumbleScannerBackend)


class Session:
    """One connection as the driver app would drive it: subscribe, read challenge, write."""

    def __init__(self, client: BleakClient) -> None:
        self.client = client
        self.results: asyncio.Queue[bytes] = asyncio.Queue()

    async def start(self) -> Session:
        await self.client.start_notify(
            gatt.RESULT_CHAR_UUID, lambda _c, data: self.results.put_nowait(bytes(data))
        )
        return self

    async def challenge(self) -> bytes:
        return gatt.Challenge.from_bytes(
            bytes(await self.client.read_gatt_char(gatt.CHALLENGE_CHAR_UUID))
        ).nonce

    async def unlock(self, grant: bytes) -> gatt.UnlockResult:
        request = unlock_request(grant, HANDHELD, await self.challenge())
        await self.client.write_gatt_char(gatt.UNLOCK_CHAR_UUID, request, response=True)
        async with asyncio.timeout(EVENT_TIMEOUT_S):
            return gatt.UnlockResult.from_bytes(await self.results.get())


async def unlock_once(grant: bytes) -> gatt.UnlockResult:
    device = await find()
    assert device is not None
    async with BleakClient(device, backend=BumbleClientBackend) as client:
        return await (await Session(client).start()).unlock(grant)


async def test_advertisement_carries_door_id_and_no_personal_data(door: Door) -> None:
    found = await BleakScanner.find_device_by_filter(
        lambda _d, adv: SERVICE_DATA_KEY in adv.service_data,
        timeout=EVENT_TIMEOUT_S,
        backend=BumbleScannerBackend,
    )
    assert found is not None and found.address == DOOR_ADDRESS
    discovered = await BleakScanner.discover(timeout=0.2, return_adv=True, backend=BumbleScannerBackend)
    _, adv = discovered[DOOR_ADDRESS]
    assert gatt.AdvertisedDoor.from_bytes(adv.service_data[SERVICE_DATA_KEY]).door_id == DOOR_ID
    assert adv.rssi == -55


async def test_full_unlock_over_ble(door: Door) -> None:
    device = await find()
    assert device is not None
    async with BleakClient(device, backend=BumbleClientBackend) as client:
        info = gatt.DoorInfo.from_bytes(bytes(await client.read_gatt_char(gatt.DOOR_INFO_CHAR_UUID)))
        assert info.door_id == DOOR_ID and info.trusted_kids == (door.issuer.kid,)
        session = await Session(client).start()
        result = await session.unlock(door.grant())
        assert (result.outcome, result.reason) == (Outcome.UNLOCKED, ReasonCode.OK)
        assert await client.read_gatt_char(gatt.RESULT_CHAR_UUID) == bytes(result)
    receipt = verify_receipt(result.receipt, public_key_bytes(DOOR_KEY))
    assert receipt.outcome is Outcome.UNLOCKED
    assert door.controller.state.locked is False


async def test_replay_on_a_second_connection_is_refused(door: Door) -> None:
    grant = door.grant()
    assert (await unlock_once(grant)).reason is ReasonCode.OK
    assert (await unlock_once(grant)).reason is ReasonCode.GRANT_ALREADY_USED


async def test_receipts_characteristic_pages_through_the_log(door: Door) -> None:
    for _ in range(3):
        await unlock_once(door.grant())
    device = await find()
    assert device is not None
    fetched: list[bytes] = []
    async with BleakClient(device, backend=BumbleClientBackend) as client:
        await (await Session(client).start()).unlock(door.grant())  # receipts need a valid grant first
        more = True
        while more:
            await client.write_gatt_char(
                gatt.RECEIPTS_CHAR_UUID, bytes(gatt.ReceiptQuery(len(fetched))), response=True
            )
            batch = gatt.ReceiptBatch.from_bytes(bytes(await client.read_gatt_char(gatt.RECEIPTS_CHAR_UUID)))
            fetched += batch.receipts
            more = batch.more
    report = verify_chain(fetched, public_key_bytes(DOOR_KEY), DOOR_ID)
    assert [r.seq for r in report.accepted] == [0, 1, 2, 3] and report.breaks == () and report.gaps == ()


async def test_drop_mid_write_decides_nothing(door: Door) -> None:
    grant = door.grant()
    door.controller.faults.set(drop_mid_write=True)
    device = await find()
    assert device is not None
    dropped = asyncio.Event()
    client = BleakClient(device, backend=BumbleClientBackend, disconnected_callback=lambda _c: dropped.set())
    async with client:
        session = await Session(client).start()
        request = unlock_request(grant, HANDHELD, await session.challenge())
        with pytest.raises(BleakError):
            await client.write_gatt_char(gatt.UNLOCK_CHAR_UUID, request, response=True)
        async with asyncio.timeout(EVENT_TIMEOUT_S):
            await dropped.wait()
    assert door.controller.state.locked is True and door.controller.state.last_seq is None
    door.controller.faults.set(drop_mid_write=False)
    assert (await unlock_once(grant)).reason is ReasonCode.OK


async def test_slow_door_still_answers(door: Door) -> None:
    door.controller.faults.set(slow_ms=300)
    started = time.monotonic()
    result = await unlock_once(door.grant())
    assert result.reason is ReasonCode.OK
    assert time.monotonic() - started >= 0.3


async def test_jammed_door_reports_it_over_ble(door: Door) -> None:
    door.controller.faults.set(jammed=True)
    result = await unlock_once(door.grant())
    assert (result.outcome, result.reason) == (Outcome.FAULT, ReasonCode.DOOR_JAMMED)
    assert door.controller.state.locked is True


async def test_powered_off_door_is_not_found_until_powered_on(door: Door) -> None:
    assert await find() is not None
    door.controller.faults.set(powered_off=True)
    await door.peripheral.settle()
    assert await find(timeout=ABSENCE_WINDOW_S) is None
    door.controller.faults.set(powered_off=False)
    await door.peripheral.settle()
    assert (await unlock_once(door.grant())).reason is ReasonCode.OK


async def test_out_of_range_door_is_not_found(door: Door) -> None:
    door.controller.faults.set(out_of_range=True)
    await door.peripheral.settle()
    assert await find(timeout=ABSENCE_WINDOW_S) is None
    door.controller.faults.set(out_of_range=False, rssi_dbm=-91)
    device = await BleakScanner.discover(timeout=0.2, return_adv=True, backend=BumbleScannerBackend)
    assert device[DOOR_ADDRESS][1].rssi == -91


async def test_transport_entry_serves_a_door_over_an_hci_transport(
    attached_radio: tuple[VirtualRadio, int], tmp_path: Path
) -> None:
    """The real-controller path, driven through bumble's tcp-client HCI transport.

    The virtual radio's attach port hands the door host its own emulated controller, exactly
    as a USB dongle would hand it a real one.
    """
    issuer = Issuer()
    config = door_config(tmp_path, issuer)
    stop = asyncio.Event()
    _, port = attached_radio
    runner = asyncio.create_task(run_door_on_transport(config, f"tcp-client:127.0.0.1:{port}", stop=stop))
    try:
        result = await unlock_once(issuer.grant(HANDHELD, now=int(time.time())))
        assert (result.outcome, result.reason) == (Outcome.UNLOCKED, ReasonCode.OK)
    finally:
        stop.set()
        await asyncio.wait_for(runner, EVENT_TIMEOUT_S)


async def test_retry_on_the_same_connection_needs_a_fresh_challenge(door: Door) -> None:
    device = await find()
    assert device is not None
    async with BleakClient(device, backend=BumbleClientBackend) as client:
        session = await Session(client).start()
        stolen = Issuer().grant(HANDHELD, now=int(time.time()))
        refused = await session.unlock(stolen)
        assert (refused.outcome, refused.reason) == (Outcome.REFUSED, ReasonCode.UNKNOWN_KEY)
        assert (await session.unlock(door.grant())).reason is ReasonCode.OK


async def test_malformed_receipts_query_is_an_application_error(door: Door) -> None:
    device = await find()
    assert device is not None
    async with BleakClient(device, backend=BumbleClientBackend) as client:
        await (await Session(client).start()).unlock(door.grant())  # receipts need a valid grant first
        with pytest.raises(BleakGATTProtocolError) as err:
            await client.write_gatt_char(gatt.RECEIPTS_CHAR_UUID, b"\xff", response=True)
        assert err.value.code == 0x80


async def test_door_built_powered_off_stays_silent(radio: VirtualRadio, tmp_path: Path) -> None:
    issuer = Issuer()
    config = door_config(tmp_path, issuer)
    running = await start_door(
        config,
        radio.add_peripheral(config.name, config.address),
        faults=DoorFaults(powered_off=True),
        air=radio,
    )
    try:
        assert await find(timeout=ABSENCE_WINDOW_S) is None
        running.controller.faults.set(powered_off=False)
        await running.peripheral.settle()
        assert (await unlock_once(issuer.grant(HANDHELD, now=int(time.time())))).reason is ReasonCode.OK
    finally:
        await running.stop()


async def test_with_att_mtu_23_the_challenge_read_blob_continues_the_same_nonce(door: Door) -> None:
    door.peripheral.device.gatt_server.max_mtu = 23
    device = await find()
    assert device is not None
    async with BleakClient(device, backend=BumbleClientBackend) as client:
        assert client.mtu_size == 23
        session = await Session(client).start()
        challenge = await session.challenge()  # 37 bytes: a Read, then a Read Blob at offset 22
        second = await session.challenge()  # a new Read (offset 0) draws a fresh one
        assert challenge != second
        request = unlock_request(door.grant(), HANDHELD, second)
        await client.write_gatt_char(gatt.UNLOCK_CHAR_UUID, request, response=True)
        async with asyncio.timeout(EVENT_TIMEOUT_S):
            assert await session.results.get() == b""  # too long to indicate at this MTU
        result = gatt.UnlockResult.from_bytes(bytes(await client.read_gatt_char(gatt.RESULT_CHAR_UUID)))
    assert (result.outcome, result.reason) == (Outcome.UNLOCKED, ReasonCode.OK)
