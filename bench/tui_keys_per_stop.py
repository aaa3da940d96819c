"""Key presses per stop and the scan→open time the screen shows, on the demo route at 40×20.

Starts the bundled demo building (as `driver-app demo` does: labels rendered for the camera), builds
the app exactly like the demo (camera = the label folder, memory credential store, sim radio) and
drives it headless with Pilot. Two ways through each stop:

- camera: Enter opens the stop, the camera starts by itself and reads the parcels, then u and d;
- wedge: a handheld scanner's burst on the route screen opens the stop and counts the parcel, then
  u and d (stops with one parcel only: more parcels need more scans).

Counts only the driver's key presses (a scanner burst is the scan, not a key), and reads the
status line's "scan→open" figure once the door is open.

    python bench/tui_keys_per_stop.py [--stops 3]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import tempfile
from pathlib import Path

from driver_app.adapters.camera_source import camera_factory
from driver_app.adapters.clock import SystemClock
from driver_app.adapters.credentials_memory import MemoryCredentialStore
from driver_app.core.ports import Scan, ScanSource
from driver_app.core.state import StopPhase
from driver_app.demo import _sign_in, running_building
from driver_app.factory import build_workflow
from driver_app.settings import BleMode, Settings
from driver_app.tui import create_app
from driver_app.tui.screens.route import RouteScreen
from driver_app.tui.screens.stop import StopScreen


async def _until(pilot, condition, timeout: float = 30.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if condition():
            return
        await pilot.pause(0.02)
    raise TimeoutError("the app never got there")


async def walk(building, workdir: Path, stops: int, mode: str) -> list[tuple[str, int, str]]:
    settings = Settings(
        access_url=building.access_url,
        ble_mode=BleMode.SIM,
        radio_address=building.radio_address,
        camera_source=str(building.labels) if mode == "camera" else None,
        data_dir=workdir / f"app-{mode}",
    )
    credentials, clock = MemoryCredentialStore(), SystemClock()
    await _sign_in(build_workflow(settings, credentials=credentials), building)
    app = create_app(
        lambda on_change: build_workflow(settings, credentials=credentials, on_change=on_change, clock=clock),
        settings,
        clock=clock,
        camera=camera_factory(settings.camera_source),
        demo=True,
    )
    results: list[tuple[str, int, str]] = []
    async with app.run_test(size=(40, 20)) as pilot:
        await _until(pilot, lambda: isinstance(app.screen, RouteScreen) and app.route_state.route is not None)
        route = app.route_state.route
        assert route is not None  # the wait above was for it
        for stop in sorted(route.stops, key=lambda s: s.sequence):
            if len(results) == stops:
                break
            state = app.route_state.stops[stop.stop_id]
            if state.phase is StopPhase.DELIVERED or (mode == "wedge" and len(stop.packages) != 1):
                continue
            keys = 0
            if mode == "camera":
                await pilot.press("enter")  # the cursor is on the next open stop
                keys += 1
            else:
                app.submit_scan(Scan(stop.packages[0].barcode, ScanSource.WEDGE))  # the scanner's burst
            await _until(
                pilot,
                lambda s=stop: (
                    isinstance(app.screen, StopScreen)
                    and len(app.route_state.stops[s.stop_id].scanned_package_ids) == len(s.packages)
                ),
            )
            await pilot.press("u")
            keys += 1
            await _until(pilot, lambda s=stop: app.route_state.stops[s.stop_id].phase is StopPhase.UNLOCKED)
            await pilot.pause(0.1)
            shown = str(app.screen.query_one("#step").render())
            found = re.search(r"scan→open ([0-9.]+ s)", shown)
            await pilot.press("d")
            keys += 1
            await _until(pilot, lambda: isinstance(app.screen, RouteScreen))
            results.append((f"#{stop.sequence}", keys, found.group(1) if found else "-"))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stops", type=int, default=3, help="stops to walk per mode (default 3)")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="lobbykey-keys-") as tmp,
        running_building(Path(tmp), None) as building,
    ):
        for mode in ("camera", "wedge"):
            for label, keys, shown in asyncio.run(walk(building, Path(tmp), args.stops, mode)):
                print(f"{mode:6} stop {label}: {keys} key presses + the scan; screen shows scan→open {shown}")


if __name__ == "__main__":
    main()
