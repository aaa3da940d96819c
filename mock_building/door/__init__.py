"""Emulated LobbyKey door controllers: door logic with no radio, and a thin bumble peripheral.

    controller = DoorController(config, DoorStore(config.state_dir), loop, faults=DoorFaults())
    peripheral = DoorPeripheral(controller, radio.add_peripheral(config.name, config.address), air=radio)
    await peripheral.start()
    ...
    await peripheral.stop(); controller.close()

Exceptions::

    DoorError (reason: DoorErrorReason)

Unlock refusals are not exceptions: they are protocol `ReasonCode`s in results and receipts.
"""

from mock_building.door.config import DEFAULT_ADVERTISING_INTERVAL_MS, DEFAULT_HOLD_OPEN_S, DoorConfig
from mock_building.door.controller import Attempt, DoorController, Session
from mock_building.door.errors import DoorError, DoorErrorReason
from mock_building.door.faults import DoorFaults, DoorFaultSettings
from mock_building.door.state import DoorState, StateListener

__all__ = [
    "DEFAULT_ADVERTISING_INTERVAL_MS",
    "DEFAULT_HOLD_OPEN_S",
    "Attempt",
    "DoorConfig",
    "DoorController",
    "DoorError",
    "DoorErrorReason",
    "DoorFaultSettings",
    "DoorFaults",
    "DoorState",
    "Session",
    "StateListener",
]
