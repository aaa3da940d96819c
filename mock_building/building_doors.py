"""Every door of a scenario as an emulated peripheral on the building's radio.

A door trusts the signing keys of the carriers its building has accepted (issuer = carrier id,
key id = the carrier's `kid`, as the access service signs grants), keeps its replay cache and
receipts under `<data dir>/doors/<door id>/`, and starts with the scenario's fault settings,
which stay toggleable at run time through `RunningDoor.faults`.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from pathlib import Path

from mock_building.door import DoorConfig, DoorController, DoorFaults, DoorState
from mock_building.door.peripheral import DoorPeripheral
from mock_building.door.store import DoorStore
from mock_building.live_view import DoorStatus
from mock_building.radio import VirtualRadio
from mock_building.scenario import Door, Scenario
from protocol.keys import TrustedIssuerKey, TrustStore, public_key_bytes

__all__ = ["RunningDoor", "door_config", "start_doors"]


def door_config(scenario: Scenario, door: Door, state_dir: Path) -> DoorConfig:
    trusted = TrustStore.of(
        TrustedIssuerKey(kid=c.kid.encode(), issuer=c.id, public_key=public_key_bytes(c.private_key))
        for c in scenario.trusted_carriers(door.id)
    )
    return DoorConfig(
        door_id=door.id,
        name=door.name,
        private_key=door.private_key,
        trusted_keys=trusted,
        address=door.ble_address,
        state_dir=state_dir,
        hold_open_s=door.hold_open_s,
        advertising_interval_ms=door.adv_interval_ms,
    )


class RunningDoor:
    """One door that is up: its controller, peripheral and live fault switches."""

    def __init__(self, door: Door, building_name: str, controller: DoorController, peripheral: DoorPeripheral) -> None:
        self._door = door
        self._building_name = building_name
        self.controller = controller
        self.peripheral = peripheral

    @property
    def faults(self) -> DoorFaults:
        return self.controller.faults

    def status(self) -> DoorStatus:
        state: DoorState = self.controller.state
        relock_in = None if state.relock_at is None else max(0.0, state.relock_at - self.controller.now())
        return DoorStatus(
            door_id=self._door.id,
            building=self._building_name,
            name=self._door.name,
            locked=state.locked,
            relock_in_s=relock_in,
            last_outcome=state.last_outcome.name.lower() if state.last_outcome is not None else None,
            last_reason=state.last_reason.slug if state.last_reason is not None else None,
            faults=tuple(self.faults.active().items()),
        )

    async def stop(self) -> None:
        await self.peripheral.stop()
        self.controller.close()


async def start_doors(
    scenario: Scenario, radio: VirtualRadio, state_root: Path, clock: Callable[[], float]
) -> dict[str, RunningDoor]:
    """Build and start every door concurrently; they advertise once this returns.

    `clock` (Unix seconds) is the building's clock, so doors and service agree on "now".
    """
    loop = asyncio.get_running_loop()
    doors: dict[str, RunningDoor] = {}
    try:
        for door in scenario.doors:
            config = door_config(scenario, door, state_root / door.id)
            faults = DoorFaults(**dataclasses.asdict(door.faults))
            controller = DoorController(config, DoorStore(config.state_dir), loop, faults=faults, clock=clock)
            peripheral = DoorPeripheral(controller, radio.add_peripheral(door.name, door.ble_address), air=radio)
            doors[door.id] = RunningDoor(door, scenario.building(door.building).name, controller, peripheral)
        await asyncio.gather(*(d.peripheral.start() for d in doors.values()))
    except BaseException:
        for running in doors.values():
            await running.stop()
        raise
    return doors
