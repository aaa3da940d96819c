"""Every door of a scenario as an emulated peripheral on the building's radio.

A door trusts the signing keys of the carriers its building has accepted (the scenario says
which, in the same terms the access service signs grants with), keeps its replay cache and
receipts under `<data dir>/doors/<door id>/`, and starts with the scenario's fault settings,
which stay toggleable at run time through `BuildingDoor.faults`.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from pathlib import Path

from mock_building.building.live_view import DoorStatus
from mock_building.door import DoorConfig, DoorFaults
from mock_building.door.runner import RunningDoor, start_door
from mock_building.radio import VirtualRadio
from mock_building.radio.geography import Position, grid_layout
from mock_building.scenario.loader import Door, Scenario
from protocol.keys import TrustStore

__all__ = ["BuildingDoor", "building_positions", "door_config", "door_faults", "start_doors"]


def door_config(scenario: Scenario, door_id: str, state_dir: Path) -> DoorConfig:
    """Provision one scenario door (the same for the virtual radio and a real controller)."""
    door = scenario.door(door_id)
    trusted = TrustStore.of(scenario.trusted_issuer_keys(door.id))
    return DoorConfig(
        door_id=door.id,
        name=door.name,
        private_key=door.private_key,
        trusted_keys=trusted,
        address=door.ble_address,
        state_dir=state_dir,
        hold_open_s=door.hold_open_s,
        advertising_interval_ms=door.adv_interval_ms,
        authorities=scenario.door_authorities(door.id),
        seal_key=scenario.door_seal_key(door.id),
    )


def door_faults(door: Door) -> DoorFaults:
    """The door's live fault switches, starting from the scenario's settings."""
    return DoorFaults(door.faults)


def building_positions(scenario: Scenario) -> dict[str, Position]:
    """Where each building stands on the radio's map: its `position`, else its slot on a grid in
    scenario order, 200 m apart, so a driver at one building hears the next one's doors faintly
    and the rest of the city not at all."""
    grid = grid_layout(len(scenario.buildings))
    return {
        b.id: Position(*b.position) if b.position is not None else slot
        for b, slot in zip(scenario.buildings, grid, strict=True)
    }


@dataclasses.dataclass(frozen=True)
class BuildingDoor:
    """A started door plus what the live view says about where it is."""

    door: Door
    building_name: str
    running: RunningDoor

    @property
    def faults(self) -> DoorFaults:
        return self.running.controller.faults

    def status(self) -> DoorStatus:
        controller = self.running.controller
        state = controller.state
        relock_in = None if state.relock_at is None else max(0.0, state.relock_at - controller.now())
        return DoorStatus(
            door_id=self.door.id,
            building=self.building_name,
            name=self.door.name,
            locked=state.locked,
            relock_in_s=relock_in,
            last_outcome=state.last_outcome.name.lower() if state.last_outcome is not None else None,
            last_reason=state.last_reason.slug if state.last_reason is not None else None,
            faults=state.faults,
            links=state.connected,
            links_dropped=state.links_dropped,
            door_open=state.door_open,
        )

    async def stop(self) -> None:
        await self.running.stop()


async def start_doors(
    scenario: Scenario, radio: VirtualRadio, state_root: Path, clock: Callable[[], float]
) -> dict[str, BuildingDoor]:
    """Start every door concurrently; once this returns each advertises as soon as a handheld in
    range scans for it (until then it is dormant: see `DoorPeripheral.start`).

    `clock` (Unix seconds) is the building's clock, so doors and service agree on "now". Each
    building is a place on the radio's map that handhelds say they stand at, its doors stand there.
    """
    positions = building_positions(scenario)
    for building_id, position in positions.items():
        radio.add_place(building_id, position)

    async def start(door: Door) -> BuildingDoor:
        config = door_config(scenario, door.id, state_root / door.id)
        device = radio.add_peripheral(door.name, door.ble_address, position=positions[door.building])
        running = await start_door(config, device, faults=door_faults(door), air=radio, clock=clock)
        return BuildingDoor(door, scenario.building(door.building).name, running)

    results = await asyncio.gather(*(start(door) for door in scenario.doors), return_exceptions=True)
    started = [r for r in results if isinstance(r, BuildingDoor)]
    failure = next((r for r in results if isinstance(r, BaseException)), None)
    if failure is not None:
        for door in started:
            await door.stop()
        raise failure
    return {door.door.id: door for door in started}
