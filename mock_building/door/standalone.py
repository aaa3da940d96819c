"""`mock-building door`: one scenario door on a real Bluetooth controller, until Ctrl-C/SIGTERM.

The door's state (replay cache, receipts) lives in `<data dir>/doors/<door id>/`, the same place
`mock-building up` keeps it, so a door moved from the virtual radio to a dongle keeps its chain.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from bumble.core import BaseBumbleError

from mock_building.building.doors import door_config, door_faults
from mock_building.door import DoorError
from mock_building.door.transport import run_door_on_transport
from mock_building.errors import CodedError
from mock_building.scenario.loader import Scenario

__all__ = ["DoorRunError", "run_real_door"]

_TRANSPORT_ERRORS: tuple[type[Exception], ...] = (OSError, BaseBumbleError)
try:  # bumble's USB transport reports libusb failures as usb1 errors
    from usb1 import USBError

    _TRANSPORT_ERRORS += (USBError,)
except ImportError:  # pragma: no cover - usb1 comes with bumble
    pass


class DoorRunError(CodedError):
    """The door cannot run: unknown door id, unusable state, or the transport failed to open."""


async def run_real_door(scenario: Scenario, door_id: str, transport_spec: str, data_dir: Path) -> int:
    if door_id not in {d.id for d in scenario.doors}:
        raise DoorRunError("unknown_door", f"no door {door_id!r} in the scenario")
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    config = door_config(scenario, door_id, data_dir / "doors" / door_id)
    print(f"door {door_id} on {transport_spec}; Ctrl-C to stop", flush=True)
    try:
        await run_door_on_transport(
            config, transport_spec, faults=door_faults(scenario.door(door_id)), stop=stop
        )
    except DoorError as err:
        raise DoorRunError(str(err.reason), str(err)) from err
    except _TRANSPORT_ERRORS as err:
        raise DoorRunError("transport_unavailable", f"cannot open transport {transport_spec}: {err}") from err
    return 0
