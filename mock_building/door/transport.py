"""Running a door on a real Bluetooth controller through one of bumble's HCI transports.

`mock-building door --transport usb:0 ...` calls `run_door_on_transport`. Transport specs
are bumble's: `usb:0`, `usb:VID:PID`, `hci-socket:0`, `serial:/dev/ttyACM0,1000000`, and
`tcp-client:HOST:PORT` (which is how the tests drive this path against the virtual radio).
One controller serves one door: a GATT database belongs to one device.
"""

from __future__ import annotations

import asyncio
import logging

from bumble import hci
from bumble.device import Device
from bumble.transport import open_transport

from mock_building.door.config import DoorConfig
from mock_building.door.faults import DoorFaults
from mock_building.door.runner import start_door

__all__ = ["run_door_on_transport"]

logger = logging.getLogger(__name__)


async def run_door_on_transport(
    config: DoorConfig,
    transport_spec: str,
    *,
    faults: DoorFaults | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve the door until `stop` is set, the task is cancelled, or the transport goes away.

    Range faults cannot be emulated on a real radio; every other fault applies as usual.
    """
    async with await open_transport(transport_spec) as transport:
        device = Device.with_hci(config.name, hci.Address(config.address), transport.source, transport.sink)
        door = await start_door(config, device, faults=faults)
        logger.info("door %s advertising on %s", config.door_id, transport_spec)
        waiters = [asyncio.ensure_future(transport.source.terminated)]
        if stop is not None:
            waiters.append(asyncio.ensure_future(stop.wait()))
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
            await door.stop()
