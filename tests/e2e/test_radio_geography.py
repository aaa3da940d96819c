"""The virtual radio has geography: a handheld hears the doors of the building it stands at, the
next building's faintly, the rest of the city not at all, and doors nobody hears stay quiet."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from bleak import BleakClient, BleakScanner
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import BleakError

from driver_app.adapters.ble_sim import SimHandheld, SimRadioAddress
from mock_building.building.running import RunningBuilding
from mock_building.radio import VirtualRadio, build_advertising_data, start_advertising
from mock_building.radio.geography import SENSITIVITY_DBM, Position
from tests.noon_clock import NoonClock

pytestmark = pytest.mark.timeout(60)

# Three buildings on a street: "near" is the next building, "far" is across town.
PLACES = {"here": Position(0, 0), "near": Position(200, 0), "far": Position(2000, 0)}
DOORS = {"here": "F0:00:00:00:01:01", "near": "F0:00:00:00:01:02", "far": "F0:00:00:00:01:03"}
SETTLE_S = 1.0


@pytest.fixture
async def city() -> AsyncIterator[tuple[VirtualRadio, int]]:
    radio = VirtualRadio()
    port = await radio.serve(port=0)
    for place, position in PLACES.items():
        radio.add_place(place, position)
        device = radio.add_peripheral(place, DOORS[place], position=position)
        await device.power_on()
        await start_advertising(device, build_advertising_data(local_name=place), interval_ms=20)
    yield radio, port
    await radio.close()


async def _heard(handheld: SimHandheld, seconds: float = SETTLE_S) -> dict[str, int]:
    """Names of the doors heard within `seconds`, with the last RSSI each was heard at."""
    heard: dict[str, int] = {}

    def on_advertisement(_: BLEDevice, adv: AdvertisementData) -> None:
        if adv.local_name is not None:
            heard[adv.local_name] = adv.rssi

    scanner, _client = handheld.backends()
    async with BleakScanner(on_advertisement, backend=scanner):
        await asyncio.sleep(seconds)  # listening for a while is what is measured here
    return heard


async def _until_parked(radio: VirtualRadio, count: int) -> None:
    async with asyncio.timeout(10):
        while radio.parked_peripherals != count:  # noqa: ASYNC110 - the radio has no event for parking; bounded poll
            await asyncio.sleep(0.02)


async def test_a_handheld_hears_its_building_loud_the_next_faintly_and_not_across_town(
    city: tuple[VirtualRadio, int],
) -> None:
    radio, port = city
    handheld = SimHandheld(SimRadioAddress("127.0.0.1", port))
    handheld.move_to("here")
    heard = await _heard(handheld)
    assert set(heard) == {"here", "near"}
    assert heard["here"] == -50
    assert SENSITIVITY_DBM <= heard["near"] < heard["here"] - 40
    # A weak-signal fault lowers the door's own level; distance comes on top.
    radio.set_rssi(DOORS["near"], -60)
    handheld.move_to("far")
    assert set(await _heard(handheld)) == {"far"}
    handheld.move_to("near")
    heard = await _heard(handheld)
    assert heard["near"] == -60 and heard["here"] < -90
    await handheld.detach()


async def test_doors_nobody_can_hear_park_and_wake_for_a_listener_in_range(
    city: tuple[VirtualRadio, int],
) -> None:
    radio, port = city
    await _until_parked(radio, 3)  # nobody attached: every door parks its advertising timer
    handheld = SimHandheld(SimRadioAddress("127.0.0.1", port))
    handheld.move_to("far")
    assert set(await _heard(handheld, 0.3)) == {"far"}
    await _until_parked(radio, 3)  # scanning stopped: quiet again
    handheld.move_to("here")
    scanner, _client = handheld.backends()
    async with BleakScanner(backend=scanner):
        await _until_parked(radio, 1)  # "here" and "near" advertise, "far" stays parked
    await handheld.detach()


async def test_an_unknown_place_is_refused(city: tuple[VirtualRadio, int]) -> None:
    _radio, port = city
    handheld = SimHandheld(SimRadioAddress("127.0.0.1", port))
    handheld.move_to("atlantis")
    with pytest.raises(BleakError, match="atlantis"):
        await _heard(handheld, 0.1)
    await handheld.detach()


async def test_an_unplaced_handheld_hears_every_door(city: tuple[VirtualRadio, int]) -> None:
    _radio, port = city
    handheld = SimHandheld(SimRadioAddress("127.0.0.1", port))
    heard = await _heard(handheld)
    assert heard == {"here": -50, "near": -50, "far": -50}
    await handheld.detach()


async def test_two_handhelds_connecting_to_one_door_at_once_both_get_their_turn(
    city: tuple[VirtualRadio, int],
) -> None:
    """The door takes one connect request per advertising event; the other handheld connects when
    the door advertises again (it used to believe it had connected and then hear nothing)."""
    _radio, port = city
    handhelds = [SimHandheld(SimRadioAddress("127.0.0.1", port)) for _ in range(2)]

    async def visit(handheld: SimHandheld) -> bool:
        handheld.move_to("here")
        _scanner, client_backend = handheld.backends()
        async with BleakClient(DOORS["here"], backend=client_backend, timeout=10) as client:
            await asyncio.sleep(0.2)  # a short session, as an unlock is
            return client.is_connected

    assert await asyncio.gather(*(visit(h) for h in handhelds)) == [True, True]
    for handheld in handhelds:
        await handheld.detach()


async def test_a_building_door_powers_on_only_once_a_handheld_in_range_scans_for_it(
    building: tuple[RunningBuilding, NoonClock],
) -> None:
    running, _clock = building
    devices = {
        door.door.ble_address.upper(): door.running.peripheral.device for door in running.doors.values()
    }
    elm = {door.door.ble_address.upper() for door in running.doors.values() if door.door.building == "elm12"}

    def woken() -> set[str]:
        return {address for address, device in devices.items() if device.powered_on}

    assert not woken()  # nobody scanning yet: every door dormant, costing nothing
    assert running.radio.parked_peripherals == len(devices)
    handheld = SimHandheld(SimRadioAddress(running.radio_host, running.radio_port))
    handheld.move_to("elm12")
    heard: set[str] = set()
    scanner, _client = handheld.backends()
    async with BleakScanner(lambda device, _adv: heard.add(device.address.upper()), backend=scanner):
        async with asyncio.timeout(10):
            while not (elm <= heard and woken() <= heard):  # noqa: ASYNC110 - no event for "heard"; bounded poll
                await asyncio.sleep(0.02)
    await handheld.detach()
    assert woken() == heard  # the scan woke exactly the doors in earshot, and they were heard
    assert len(heard) < len(devices)  # a door out of earshot stays dormant
