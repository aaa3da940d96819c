"""The app tells the radio where its driver stands: at the building of the stop being worked."""

from __future__ import annotations

from pathlib import Path

import pytest

from driver_app.adapters.credentials_memory import MemoryCredentialStore
from driver_app.factory import build_workflow
from driver_app.settings import BleMode, Settings
from mock_building.building.doors import building_positions
from mock_building.building.running import RunningBuilding
from tests.noon_clock import HandheldNoonClock, NoonClock

pytestmark = pytest.mark.timeout(60)


async def test_the_handheld_stands_at_the_building_of_the_stop_it_works(
    building: tuple[RunningBuilding, NoonClock], tmp_path: Path
) -> None:
    running, clock = building
    settings = Settings(
        access_url=running.url,
        ble_mode=BleMode.SIM,
        radio_address=running.radio_address,
        data_dir=tmp_path,
    )
    workflow = build_workflow(settings, credentials=MemoryCredentialStore(), clock=HandheldNoonClock(clock))
    positions = building_positions(running.scenario)
    try:
        await workflow.sign_in("demo", "demo-password")
        state = await workflow.load_route()
        assert state.route is not None
        first_of_each = {s.building.building_id: s for s in reversed(state.route.stops)}
        assert len(first_of_each) >= 2  # the walk below crosses town
        for building_id, stop in first_of_each.items():
            workflow.select_stop(stop.stop_id)
            nearby = await workflow.find_doors()
            assert running.radio.handheld_positions == [positions[building_id]]
            # Standing there, its doors are heard at their own level (the demo's weakest is -78 dBm),
            # not at the -96 dBm of a door one building away.
            assert nearby and all(door.rssi >= -80 for door in nearby)
    finally:
        await workflow.aclose()
