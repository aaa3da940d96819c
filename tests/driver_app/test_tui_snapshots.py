"""Whole-screen snapshots at handheld (40×20) and desktop (80×24) sizes, on fixed data and a fake clock.

Regenerate after an intended change with `pytest tests/test_tui_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

import asyncio

import pytest

from driver_app.core.state import StopPhase
from tests.tui_fakes import StillCamera, make_rig, manual_scan, open_first_stop, sign_in

HANDHELD, DESKTOP = (40, 20), (80, 24)


async def _scanned(pilot) -> None:
    await open_first_stop(pilot)
    await manual_scan(pilot, "LK100001")


async def _unlocked(pilot) -> None:
    await _scanned(pilot)
    await pilot.press("u")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def test_sign_in_handheld(snap_compare) -> None:
    assert snap_compare(make_rig().app, terminal_size=HANDHELD)


def test_route_handheld(snap_compare) -> None:
    assert snap_compare(make_rig().app, terminal_size=HANDHELD, run_before=sign_in)


def test_stop_unlocked_handheld(snap_compare) -> None:
    assert snap_compare(make_rig().app, terminal_size=HANDHELD, run_before=_unlocked)


def test_stop_unlocked_desktop(snap_compare) -> None:
    assert snap_compare(make_rig(persistent=True).app, terminal_size=DESKTOP, run_before=_unlocked)


def test_door_refused_desktop(snap_compare) -> None:
    rig = make_rig()

    async def refused(pilot) -> None:
        await _scanned(pilot)
        rig.workflow.door_says = "wrong_door"
        await pilot.press("u")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    assert snap_compare(rig.app, terminal_size=DESKTOP, run_before=refused)


def test_door_picker_handheld(snap_compare) -> None:
    async def picking(pilot) -> None:
        await _scanned(pilot)
        await pilot.press("c")
        await pilot.pause()

    assert snap_compare(make_rig().app, terminal_size=HANDHELD, run_before=picking)


def test_diagnostics_desktop(snap_compare) -> None:
    async def diagnostics(pilot) -> None:
        await _unlocked(pilot)
        await pilot.press("f2")
        await pilot.pause()

    assert snap_compare(make_rig().app, terminal_size=DESKTOP, run_before=diagnostics)


def test_camera_preview_handheld(snap_compare) -> None:
    async def previewing(pilot) -> None:
        await open_first_stop(pilot)
        # the camera starts by itself on a stop with parcels to scan
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    assert snap_compare(make_rig(camera=StillCamera).app, terminal_size=HANDHELD, run_before=previewing)


# -- issue 11: every stop readable at 40×20 (and the same screens at 80×24) ----------------------

BOTH = [HANDHELD, DESKTOP]


class OneReadCamera:
    """Three frames of a fixed picture; the first one reads parcel LK100001 (as the demo camera does)."""

    description = "synthetic"

    def __init__(self) -> None:
        self._still = StillCamera()
        self._reads = 0

    def frames(self):
        return self._still.frames()

    def reads(self, frame):
        from driver_app.core.ports import Scan, ScanSource

        self._reads += 1
        return [Scan("LK100001", ScanSource.CAMERA)] if self._reads == 1 else []

    def close(self) -> None:
        return None


async def _camera_scanned(pilot) -> None:
    await open_first_stop(pilot)
    # the camera starts by itself on a stop with parcels to scan
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


@pytest.mark.parametrize("size", BOTH, ids=["handheld", "desktop"])
def test_camera_scan_during_unlock(snap_compare, size) -> None:
    rig = make_rig(camera=OneReadCamera)

    async def opening(pilot) -> None:
        await _camera_scanned(pilot)
        rig.workflow.door_answers = asyncio.Event()
        await pilot.press("u")
        while rig.workflow.state.stops["S1"].phase is not StopPhase.VERIFYING:
            await pilot.pause(0.01)
        await pilot.pause()

    assert snap_compare(rig.app, terminal_size=size, run_before=opening)


@pytest.mark.parametrize("size", BOTH, ids=["handheld", "desktop"])
def test_camera_scan_after_unlock(snap_compare, size) -> None:
    async def opened(pilot) -> None:
        await _camera_scanned(pilot)
        await pilot.press("u")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    assert snap_compare(make_rig(camera=OneReadCamera).app, terminal_size=size, run_before=opened)


@pytest.mark.parametrize("size", BOTH, ids=["handheld", "desktop"])
def test_refused_unlock_with_advice(snap_compare, size) -> None:
    rig = make_rig()

    async def refused(pilot) -> None:
        await _scanned(pilot)
        rig.workflow.door_says = "wrong_issuer"
        await pilot.press("u")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    assert snap_compare(rig.app, terminal_size=size, run_before=refused)


@pytest.mark.parametrize("size", BOTH, ids=["handheld", "desktop"])
def test_relocked_stop(snap_compare, size) -> None:
    rig = make_rig()

    async def relocked(pilot) -> None:
        await _unlocked(pilot)
        rig.clock.mono += 6
        pilot.app.screen.query_one("#step").render_now()
        await pilot.pause()

    assert snap_compare(rig.app, terminal_size=size, run_before=relocked)


@pytest.mark.parametrize("size", BOTH, ids=["handheld", "desktop"])
def test_route_after_delivery(snap_compare, size) -> None:
    async def delivered(pilot) -> None:
        await _unlocked(pilot)
        await pilot.press("d")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    assert snap_compare(make_rig().app, terminal_size=size, run_before=delivered)


@pytest.mark.parametrize("size", BOTH, ids=["handheld", "desktop"])
def test_help(snap_compare, size) -> None:
    async def helping(pilot) -> None:
        await _scanned(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(make_rig().app, terminal_size=size, run_before=helping)
