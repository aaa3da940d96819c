"""The emulated BLE radio: doors on bumble's virtual link, driver apps attached over TCP.

Exceptions::

    RadioError (reason: RadioErrorReason)
"""

from mock_building.radio.advertising import (
    DEFAULT_ADVERTISING_INTERVAL_MS,
    LEGACY_ADVERTISING_DATA_MAX,
    build_advertising_data,
    start_advertising,
)
from mock_building.radio.air import DEFAULT_RSSI_DBM, AirConditions
from mock_building.radio.errors import RadioError, RadioErrorReason
from mock_building.radio.virtual_radio import DEFAULT_HOST, DEFAULT_PORT, VirtualRadio

__all__ = [
    "DEFAULT_ADVERTISING_INTERVAL_MS",
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "DEFAULT_RSSI_DBM",
    "LEGACY_ADVERTISING_DATA_MAX",
    "AirConditions",
    "RadioError",
    "RadioErrorReason",
    "VirtualRadio",
    "build_advertising_data",
    "start_advertising",
]
