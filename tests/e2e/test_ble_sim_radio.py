"""The virtual radio refuses what a real radio could not do, with a reason code."""

from __future__ import annotations

import pytest

from mock_building.radio import (
    LEGACY_ADVERTISING_DATA_MAX,
    RadioError,
    RadioErrorReason,
    VirtualRadio,
    build_advertising_data,
    start_advertising,
)

DOOR = "F0:00:00:00:00:01"


def test_radio_outside_an_event_loop_is_refused() -> None:
    with pytest.raises(RadioError) as caught:
        VirtualRadio()
    assert caught.value.reason is RadioErrorReason.NO_RUNNING_LOOP


async def test_advertising_beyond_legacy_limits_is_refused() -> None:
    radio = VirtualRadio()
    device = radio.add_peripheral("door", DOOR)
    await device.power_on()
    too_long = build_advertising_data(local_name="x" * LEGACY_ADVERTISING_DATA_MAX)
    with pytest.raises(RadioError) as caught:
        await start_advertising(device, too_long)
    assert caught.value.reason is RadioErrorReason.ADVERTISING_DATA_TOO_LONG
    with pytest.raises(RadioError) as caught:
        await start_advertising(device, build_advertising_data(local_name="door"), interval_ms=10)
    assert caught.value.reason is RadioErrorReason.ADVERTISING_INTERVAL_OUT_OF_RANGE
    await radio.close()


async def test_faults_need_a_known_peripheral_and_addresses_are_unique() -> None:
    radio = VirtualRadio()
    radio.add_peripheral("door", DOOR)
    with pytest.raises(RadioError) as caught:
        radio.add_peripheral("twin", DOOR.lower())
    assert caught.value.reason is RadioErrorReason.DUPLICATE_ADDRESS
    with pytest.raises(RadioError) as caught:
        radio.set_rssi("F0:00:00:00:00:02", -90)
    assert caught.value.reason is RadioErrorReason.UNKNOWN_PERIPHERAL
    radio.set_rssi(DOOR, -90)
    assert radio.conditions(DOOR).rssi_dbm == -90
    assert radio.drop_connections(DOOR) == 0
    await radio.close()
    with pytest.raises(RadioError) as caught:
        radio.add_peripheral("late", "F0:00:00:00:00:03")
    assert caught.value.reason is RadioErrorReason.CLOSED
