"""Bringing one door up on a bumble `Device`, whichever radio that device talks to.

The virtual radio and a real controller share this one code path: build the store and the
controller from the config, wrap them in the peripheral, start advertising.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from bumble.device import Device

from mock_building.door.config import DoorConfig
from mock_building.door.controller import Clock, DoorController
from mock_building.door.faults import DoorFaults
from mock_building.door.peripheral import AirControl, DoorPeripheral
from mock_building.door.store import DoorStore

__all__ = ["RunningDoor", "start_door"]


@dataclass(frozen=True)
class RunningDoor:
    """A started door: its logic (state, faults, receipts) and its BLE face."""

    controller: DoorController
    peripheral: DoorPeripheral

    async def stop(self) -> None:
        """Stop advertising, drop links, relock, close the state store."""
        try:
            await self.peripheral.stop()
        finally:
            self.controller.close()


async def start_door(
    config: DoorConfig,
    device: Device,
    *,
    faults: DoorFaults | None = None,
    air: AirControl | None = None,
    clock: Clock = time.time,
) -> RunningDoor:
    """Serve `config`'s door on `device` (not yet powered on); must run inside the event loop."""
    loop = asyncio.get_running_loop()

    def open_controller() -> DoorController:
        return DoorController(config, DoorStore(config.state_dir), loop, faults=faults, clock=clock)

    # Opening the store (and purging expired grants) waits on fsync: in a worker thread, so a
    # city's thousand doors open together; the controller is used only on the loop afterwards.
    controller = await asyncio.to_thread(open_controller)
    peripheral = DoorPeripheral(controller, device, air=air)
    try:
        await peripheral.start()
    except BaseException:
        controller.close()
        raise
    return RunningDoor(controller, peripheral)
