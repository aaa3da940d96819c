"""Driver apps in separate processes share the virtual radio, again and again.

Each subprocess attaches over TCP, gets its own emulated controller, and leaves; one is killed
while connected, and the door must notice, advertise again and serve the next app.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mock_building.radio import VirtualRadio
from tests.ble_sim_support import DOOR_A, DOOR_B, TestPeripheral, add_test_peripheral

pytestmark = pytest.mark.timeout(60)

SCRIPT = Path(__file__).parents[1] / "ble_sim_driver_proc.py"
REPO = Path(__file__).resolve().parents[2]
PAYLOAD = bytes(i % 256 for i in range(300))
EVENT_TIMEOUT_S = 20.0  # includes a Python start-up importing bleak and bumble


class DriverProcess:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(cls, port: int, address: str, mode: str) -> DriverProcess:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(SCRIPT),
            str(port),
            address,
            mode,
            stdout=asyncio.subprocess.PIPE,
            env=env,
        )
        return cls(process)

    async def next_report(self) -> dict[str, object]:
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), EVENT_TIMEOUT_S)
        assert line, f"driver process ended early (exit {await self.process.wait()})"
        return json.loads(line)

    async def finish(self) -> int:
        return await asyncio.wait_for(self.process.wait(), EVENT_TIMEOUT_S)


@pytest.fixture
async def radio() -> AsyncIterator[tuple[VirtualRadio, int]]:
    radio = VirtualRadio()
    port = await radio.serve(port=0)
    yield radio, port
    await radio.close()


async def run_session(air: VirtualRadio, port: int, door: TestPeripheral, *, apps_attached: int = 1) -> None:
    driver = await DriverProcess.start(port, door.address, "session")
    assert (await driver.next_report())["event"] == "connected"
    assert air.attached_apps == apps_attached  # one controller per attached process
    assert await driver.next_report() == {"event": "done", "read": door.read_value.decode()}
    assert await asyncio.wait_for(door.writes.get(), EVENT_TIMEOUT_S) == PAYLOAD
    assert await driver.finish() == 0
    await asyncio.wait_for(door.disconnections.get(), EVENT_TIMEOUT_S)


async def test_apps_in_other_processes_attach_again_and_again_even_after_a_kill(
    radio: tuple[VirtualRadio, int],
) -> None:
    air, port = radio
    door_a = await add_test_peripheral(air, "door-a", DOOR_A)
    door_b = await add_test_peripheral(air, "door-b", DOOR_B)

    await run_session(air, port, door_a)

    holder = await DriverProcess.start(port, DOOR_A, "hold")
    report = await holder.next_report()
    assert report == {"event": "connected", "mtu": 517}
    await asyncio.wait_for(door_a.connections.get(), EVENT_TIMEOUT_S)
    await run_session(air, port, door_b, apps_attached=2)  # alongside the holder
    # the finished app detached, the holder has not
    await asyncio.wait_for(air.wait_attached_apps(1), EVENT_TIMEOUT_S)

    holder.process.send_signal(signal.SIGKILL)  # no disconnect, no goodbye
    assert await holder.finish() == -signal.SIGKILL
    await asyncio.wait_for(door_a.disconnections.get(), EVENT_TIMEOUT_S)

    await run_session(air, port, door_a)  # the door advertises again and serves a fresh app
    await asyncio.wait_for(air.wait_attached_apps(0), EVENT_TIMEOUT_S)
