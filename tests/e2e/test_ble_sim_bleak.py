"""bleak's public API, unchanged, against test peripherals on the virtual radio (in-process).

The driver side attaches over TCP on loopback exactly as a separate app process would.
"""

from __future__ import annotations

import asyncio

import pytest
from bleak import BleakClient, BleakScanner
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import (
    BleakBluetoothNotAvailableError,
    BleakBluetoothNotAvailableReason,
    BleakDeviceNotFoundError,
    BleakError,
    BleakGATTProtocolError,
    BleakGATTProtocolErrorCode,
)

from driver_app.adapters.ble_sim import (
    REQUESTED_MTU,
    BumbleClientBackend,
    BumbleScannerBackend,
    configure_sim_radio,
    detach_sim_radio,
)
from mock_building.radio import VirtualRadio
from tests.ble_sim_support import (
    DOOR_A,
    DOOR_B,
    INDICATE_CHAR,
    NOTIFY_CHAR,
    OTHER_SERVICE,
    READ_CHAR,
    REJECTED_PREFIX,
    SERVICE,
    SERVICE_DATA_UUID_BLEAK,
    WRITE_CHAR,
    TestPeripheral,
    add_test_peripheral,
)

pytestmark = pytest.mark.timeout(30)

EVENT_TIMEOUT_S = 5.0


class Sightings:
    """Collects a scanner's detections so tests can wait for the n-th one of a device."""

    def __init__(self) -> None:
        self.by_address: dict[str, list[AdvertisementData]] = {}
        self._changed = asyncio.Condition()

    def __call__(self, device: BLEDevice, adv: AdvertisementData) -> None:
        self.by_address.setdefault(device.address, []).append(adv)
        asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_for(self, address: str, count: int = 1) -> AdvertisementData:
        async with asyncio.timeout(EVENT_TIMEOUT_S):
            async with self._changed:
                await self._changed.wait_for(lambda: len(self.by_address.get(address, [])) >= count)
        return self.by_address[address][-1]


@pytest.fixture
async def door(radio: VirtualRadio) -> TestPeripheral:
    return await add_test_peripheral(radio, "door-a", DOOR_A)


async def find(address: str) -> BLEDevice:
    device = await BleakScanner.find_device_by_address(
        address, timeout=EVENT_TIMEOUT_S, backend=BumbleScannerBackend
    )
    assert device is not None, f"{address} not found"
    return device


async def test_scan_reports_service_uuids_service_data_and_emulated_rssi(
    radio: VirtualRadio, door: TestPeripheral
) -> None:
    sightings = Sightings()
    async with BleakScanner(sightings, backend=BumbleScannerBackend):
        adv = await sightings.wait_for(DOOR_A)
        assert adv.service_uuids == [SERVICE]
        assert adv.service_data == {SERVICE_DATA_UUID_BLEAK: b"\x01\x02\x03\x04"}
        assert adv.rssi == -50
        radio.set_rssi(DOOR_A, -87)
        seen = len(sightings.by_address[DOOR_A])
        adv = await sightings.wait_for(DOOR_A, seen + 2)
        assert adv.rssi == -87


async def test_discover_with_return_adv_uses_bleaks_classmethod(door: TestPeripheral) -> None:
    found = await BleakScanner.discover(
        timeout=0.2, return_adv=True, service_uuids=[SERVICE], backend=BumbleScannerBackend
    )
    device, adv = found[DOOR_A]
    assert device.address == DOOR_A
    assert adv.service_uuids == [SERVICE]


async def test_service_uuid_filter_passes_only_matching_advertisers(
    radio: VirtualRadio, door: TestPeripheral
) -> None:
    await add_test_peripheral(radio, "door-b", DOOR_B, service=OTHER_SERVICE)
    everything, filtered = Sightings(), Sightings()
    async with (
        BleakScanner(everything, backend=BumbleScannerBackend),
        BleakScanner(filtered, service_uuids=[SERVICE.upper()], backend=BumbleScannerBackend),
    ):
        await everything.wait_for(DOOR_B, 5)
        await filtered.wait_for(DOOR_A, 1)
    assert DOOR_B not in filtered.by_address


async def test_out_of_range_peripheral_is_neither_seen_nor_connectable(
    radio: VirtualRadio, door: TestPeripheral
) -> None:
    await add_test_peripheral(radio, "door-b", DOOR_B)
    radio.set_rssi(DOOR_B, None)
    sightings = Sightings()
    async with BleakScanner(sightings, backend=BumbleScannerBackend):
        await sightings.wait_for(DOOR_A, 5)  # both advertise at the same interval
    assert DOOR_B not in sightings.by_address
    with pytest.raises(BleakDeviceNotFoundError) as caught:
        await BleakClient(DOOR_B, backend=BumbleClientBackend, timeout=0.3).connect()
    assert caught.value.identifier == DOOR_B


async def test_powered_off_peripheral_drops_its_link_disappears_and_returns(
    radio: VirtualRadio, door: TestPeripheral
) -> None:
    await add_test_peripheral(radio, "door-b", DOOR_B)
    dropped = asyncio.Event()
    client = BleakClient(DOOR_B, backend=BumbleClientBackend, disconnected_callback=lambda _: dropped.set())
    await client.connect()
    radio.set_powered(DOOR_B, False)
    await asyncio.wait_for(dropped.wait(), EVENT_TIMEOUT_S)
    sightings = Sightings()
    async with BleakScanner(sightings, backend=BumbleScannerBackend):
        await sightings.wait_for(DOOR_A, 5)
        assert DOOR_B not in sightings.by_address
        radio.set_powered(DOOR_B, True)
        await sightings.wait_for(DOOR_B)


async def test_connect_discover_read_long_write_notify_and_mtu(door: TestPeripheral) -> None:
    device = await find(DOOR_A)
    async with BleakClient(device, backend=BumbleClientBackend) as client:
        assert client.is_connected
        assert client.mtu_size == REQUESTED_MTU
        service = client.services.get_service(SERVICE)
        assert service is not None
        assert {c.uuid for c in service.characteristics} == {
            READ_CHAR,
            WRITE_CHAR,
            NOTIFY_CHAR,
            INDICATE_CHAR,
        }
        notify = client.services.get_characteristic(NOTIFY_CHAR)
        assert notify is not None and set(notify.properties) == {"notify", "indicate"}
        assert [d.uuid for d in notify.descriptors] == ["00002902-0000-1000-8000-00805f9b34fb"]

        assert await client.read_gatt_char(READ_CHAR) == bytearray(door.read_value)

        payload = bytes(range(256)) + bytes(range(144))
        await client.write_gatt_char(WRITE_CHAR, payload, response=True)
        assert await asyncio.wait_for(door.writes.get(), EVENT_TIMEOUT_S) == payload

        received: asyncio.Queue[tuple[str, bytearray]] = asyncio.Queue()
        await client.start_notify(NOTIFY_CHAR, lambda char, data: received.put_nowait((char.uuid, data)))
        await door.send_notification(b"door opened")
        assert await asyncio.wait_for(received.get(), EVENT_TIMEOUT_S) == (
            NOTIFY_CHAR,
            bytearray(b"door opened"),
        )
        await client.stop_notify(NOTIFY_CHAR)
    assert not client.is_connected


async def test_long_write_with_small_mtu_uses_prepared_writes_and_arrives_whole(radio: VirtualRadio) -> None:
    door = await add_test_peripheral(radio, "small", DOOR_B, max_mtu=23)
    async with BleakClient(await find(DOOR_B), backend=BumbleClientBackend) as client:
        assert client.mtu_size == 23
        payload = bytes(i % 251 for i in range(400))
        await client.write_gatt_char(WRITE_CHAR, payload, response=True)
        assert await asyncio.wait_for(door.writes.get(), EVENT_TIMEOUT_S) == payload
        assert door.writes.empty()


async def test_indications_are_delivered_and_confirmed(door: TestPeripheral) -> None:
    async with BleakClient(await find(DOOR_A), backend=BumbleClientBackend) as client:
        received: asyncio.Queue[bytearray] = asyncio.Queue()
        await client.start_notify(INDICATE_CHAR, lambda _, data: received.put_nowait(data))
        await asyncio.wait_for(door.send_indication(b"receipt"), EVENT_TIMEOUT_S)  # confirmed
        assert await asyncio.wait_for(received.get(), EVENT_TIMEOUT_S) == bytearray(b"receipt")


async def test_disconnected_callback_fires_when_the_peripheral_drops_and_it_advertises_again(
    radio: VirtualRadio, door: TestPeripheral
) -> None:
    dropped = asyncio.Event()
    client = BleakClient(
        await find(DOOR_A), backend=BumbleClientBackend, disconnected_callback=lambda _: dropped.set()
    )
    await client.connect()
    await asyncio.wait_for(door.connections.get(), EVENT_TIMEOUT_S)
    assert radio.drop_connections(DOOR_A) == 1
    await asyncio.wait_for(dropped.wait(), EVENT_TIMEOUT_S)
    assert not client.is_connected
    with pytest.raises(BleakError):
        await client.read_gatt_char(READ_CHAR)
    await client.disconnect()  # a no-op now, as with bleak's OS backends

    await client.connect()  # the door restarted advertising by itself
    assert await client.read_gatt_char(READ_CHAR) == bytearray(door.read_value)
    await client.disconnect()


async def test_link_dropped_in_the_middle_of_a_long_write_fails_fast_with_bleak_error(
    radio: VirtualRadio,
) -> None:
    door = await add_test_peripheral(radio, "small", DOOR_B, max_mtu=23)
    dropped = asyncio.Event()
    async with BleakClient(
        await find(DOOR_B), backend=BumbleClientBackend, disconnected_callback=lambda _: dropped.set()
    ) as client:
        radio.drop_after_packets(DOOR_B, 3)
        with pytest.raises(BleakError, match="disconnected during write"):
            await asyncio.wait_for(
                client.write_gatt_char(WRITE_CHAR, b"\xaa" * 400, response=True), EVENT_TIMEOUT_S
            )
        assert dropped.is_set()
    assert door.writes.empty()  # the prepared write was never executed


async def test_att_error_response_becomes_bleak_gatt_protocol_error(door: TestPeripheral) -> None:
    async with BleakClient(await find(DOOR_A), backend=BumbleClientBackend) as client:
        with pytest.raises(BleakGATTProtocolError) as caught:
            await client.write_gatt_char(WRITE_CHAR, REJECTED_PREFIX + b"bad", response=True)
        assert caught.value.code == BleakGATTProtocolErrorCode.VALUE_NOT_ALLOWED
        await client.write_gatt_char(WRITE_CHAR, b"good", response=True)  # the link survives
        assert await asyncio.wait_for(door.writes.get(), EVENT_TIMEOUT_S) == b"good"


async def test_two_clients_connect_concurrently_through_one_attachment(
    radio: VirtualRadio, door: TestPeripheral
) -> None:
    other = await add_test_peripheral(radio, "door-b", DOOR_B)
    a, b = BleakClient(DOOR_A, backend=BumbleClientBackend), BleakClient(DOOR_B, backend=BumbleClientBackend)
    await asyncio.gather(a.connect(), b.connect())
    values = await asyncio.gather(a.read_gatt_char(READ_CHAR), b.read_gatt_char(READ_CHAR))
    assert list(values) == [bytearray(door.read_value), bytearray(other.read_value)]
    assert radio.attached_apps == 1
    await asyncio.gather(a.disconnect(), b.disconnect())


async def test_detaching_the_app_cuts_its_links_so_the_door_sees_a_disconnect(
    radio: VirtualRadio, door: TestPeripheral
) -> None:
    dropped = asyncio.Event()
    client = BleakClient(DOOR_A, backend=BumbleClientBackend, disconnected_callback=lambda _: dropped.set())
    await client.connect()
    await detach_sim_radio()
    await asyncio.wait_for(door.disconnections.get(), EVENT_TIMEOUT_S)
    await asyncio.wait_for(dropped.wait(), EVENT_TIMEOUT_S)
    assert not client.is_connected


async def test_services_filter_discovers_only_the_named_services(door: TestPeripheral) -> None:
    async with BleakClient(DOOR_A, services=[SERVICE], backend=BumbleClientBackend) as client:
        assert [s.uuid for s in client.services] == [SERVICE]


async def test_radio_going_away_disconnects_clients_and_then_bluetooth_is_unavailable(
    radio: VirtualRadio, door: TestPeripheral
) -> None:
    dropped = asyncio.Event()
    client = BleakClient(DOOR_A, backend=BumbleClientBackend, disconnected_callback=lambda _: dropped.set())
    await client.connect()
    await radio.close()
    await asyncio.wait_for(dropped.wait(), EVENT_TIMEOUT_S)
    assert not client.is_connected
    with pytest.raises(BleakBluetoothNotAvailableError):
        await client.connect()


async def test_no_radio_listening_is_bluetooth_not_available() -> None:
    probe = VirtualRadio()
    port = await probe.serve(port=0)
    await probe.close()  # now nothing listens on that port
    configure_sim_radio("127.0.0.1", port)
    with pytest.raises(BleakBluetoothNotAvailableError) as caught:
        await BleakScanner.discover(timeout=0.1, backend=BumbleScannerBackend)
    assert caught.value.reason is BleakBluetoothNotAvailableReason.NO_BLUETOOTH
