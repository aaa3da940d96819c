"""bleak backends that reach the emulated doors of a mock building (adapter; sim mode only).

The driver app keeps using bleak's public API; only the backend class changes::

    configure_sim_radio("127.0.0.1", 8751)          # or LOBBYKEY_SIM_RADIO=HOST:PORT
    scanner = BleakScanner(on_adv, service_uuids=[...], backend=BumbleScannerBackend)
    async with BleakClient(device, backend=BumbleClientBackend) as client: ...

Under the hood one bumble host per process attaches to the mock building's virtual radio
through bumble's `tcp-client` HCI transport. Errors are bleak's (`BleakError` and friends);
a missing radio is `BleakBluetoothNotAvailableError` (reason NO_BLUETOOTH).
Importing this package imports bumble (~0.4 s): keep it off the production start-up path.
"""

from driver_app.adapters.ble_sim.central import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    ENV_VAR,
    SimRadioAddress,
    configure_sim_radio,
    detach_sim_radio,
)
from driver_app.adapters.ble_sim.client import REQUESTED_MTU, BumbleClientBackend
from driver_app.adapters.ble_sim.scanner import BumbleScannerBackend

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "ENV_VAR",
    "REQUESTED_MTU",
    "BumbleClientBackend",
    "BumbleScannerBackend",
    "SimRadioAddress",
    "configure_sim_radio",
    "detach_sim_radio",
]
