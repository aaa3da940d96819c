"""Whole-screen snapshots at handheld (40×20) and desktop (80×24) sizes, on fixed data and a fake clock.

Regenerate after an intended change with `pytest tests/test_tui_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

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
        await pilot.press("k")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    assert snap_compare(make_rig(camera=StillCamera).app, terminal_size=HANDHELD, run_before=previewing)
