"""Keyboard-wedge scanners: a fast burst ending in Enter is a scan on any screen; people typing are not."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from textual.widgets import Input

from driver_app.core.ports import ScanSource
from driver_app.core.state import StopPhase
from driver_app.tui.screens.route import RouteScreen
from driver_app.tui.screens.sign_in import SignInScreen
from driver_app.tui.screens.stop import StopScreen
from driver_app.tui.wedge import WedgeDetector
from tests.tui_fakes import make_rig, open_first_stop, sign_in

FAST, SLOW = 0.004, 0.2


def feed(detector: WedgeDetector, text: str, gaps: list[float]) -> str | None:
    at = 0.0
    for char, gap in zip(text, gaps, strict=False):
        at += gap
        detector.char(char, at)
    return detector.enter(at + gaps[-1])


def test_a_fast_burst_ending_in_enter_is_a_scan() -> None:
    assert feed(WedgeDetector(), "LK100001", [FAST] * 9) == "LK100001"


def test_short_bursts_and_slow_typing_are_not() -> None:
    assert feed(WedgeDetector(), "LK100", [FAST] * 6) is None
    assert feed(WedgeDetector(), "LK100001", [SLOW] * 9) is None
    assert feed(WedgeDetector(), "LK100001", [FAST] * 8 + [SLOW]) is None  # Enter pressed late


def test_a_burst_after_slow_typing_still_counts_from_its_start() -> None:
    detector = WedgeDetector()
    assert detector.char("a", 0.0)
    assert not detector.char("b", 0.01)
    assert detector.char("L", 1.0)  # a new run begins after a pause
    for i, char in enumerate("K100001"):
        detector.char(char, 1.0 + FAST * (i + 1))
    assert detector.enter(1.0 + FAST * 9) == "LK100001"


def test_another_key_breaks_the_run() -> None:
    detector = WedgeDetector()
    for i, char in enumerate("LK100001"):
        detector.char(char, FAST * i)
        if i == 4:
            detector.reset()
    assert detector.enter(FAST * 9) is None


@settings(max_examples=200, deadline=None)
@given(text=st.text(min_size=1, max_size=40), gaps=st.lists(st.floats(0, 0.5), min_size=41, max_size=41))
def test_a_scan_is_exactly_a_long_enough_run_with_every_gap_short(text: str, gaps: list[float]) -> None:
    got = feed(WedgeDetector(), text, gaps[: len(text) + 1])
    used = gaps[: len(text) + 1]
    tail_run = len(text)
    for i in range(len(text) - 1, 0, -1):
        if used[i] >= 0.030:
            tail_run = len(text) - i
            break
    expected = text[len(text) - tail_run :] if used[len(text)] < 0.030 and tail_run >= 6 else None
    assert got == expected


async def scan_with_wedge(pilot, rig, text: str) -> None:
    """The scanner's first key comes a while after the driver's last one, the rest within milliseconds."""
    await pilot.press(text[0])
    rig.keys.gap = FAST
    await pilot.press(*text[1:], "enter")
    rig.keys.gap = SLOW
    await rig.app.workers.wait_for_complete()
    await pilot.pause()


async def test_wedge_scan_on_the_stop_screen_with_nothing_focused() -> None:
    rig = make_rig()
    async with rig.app.run_test(size=(40, 20)) as pilot:
        await open_first_stop(pilot)
        assert isinstance(rig.app.screen, StopScreen)
        await scan_with_wedge(pilot, rig, "LK100001")
        scan, _verdict = rig.last_scan
        assert scan.source == ScanSource.WEDGE and scan.text == "LK100001"
        assert rig.workflow.state.stops["S1"].phase is StopPhase.SCANNED
        assert rig.app.screen.query_one("#manual", Input).value == ""


async def test_fast_typing_into_the_manual_field_is_manual_entry_never_a_wedge_burst() -> None:
    rig = make_rig()
    async with rig.app.run_test(size=(40, 20)) as pilot:
        await open_first_stop(pilot)
        rig.keys.gap = FAST  # as fast as a scanner: still the field made for typing
        await pilot.press("m", *"LK100001", "enter")
        await rig.app.workers.wait_for_complete()
        scan, _ = rig.last_scan
        assert (scan.source, scan.text) == (ScanSource.MANUAL, "LK100001")  # not "wedge: mLK100001"
        assert rig.workflow.state.stops["S1"].scanned_package_ids == ("P-100",)


async def test_wedge_scan_on_the_route_screen_opens_its_stop_and_counts_the_parcel() -> None:
    rig = make_rig()
    async with rig.app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        assert isinstance(rig.app.screen, RouteScreen)
        await scan_with_wedge(pilot, rig, "LK200001")
        await pilot.pause()
        assert isinstance(rig.app.screen, StopScreen)
        assert rig.workflow.state.current_stop_id == "S2"
        assert rig.workflow.state.stops["S2"].scanned_package_ids == ("P-200",)
        assert "✓ Parcel scanned" in str(rig.app.screen.query_one("VerdictLine").render())


async def test_wedge_scan_on_the_sign_in_screen_does_not_submit_the_form() -> None:
    rig = make_rig()
    async with rig.app.run_test(size=(40, 20)) as pilot:
        await pilot.click("#driver-id")
        await pilot.press(*"d7")
        await scan_with_wedge(pilot, rig, "LK100001")
        assert isinstance(rig.app.screen, SignInScreen)
        assert rig.app.screen.query_one("#driver-id", Input).value == "d7"
        assert rig.last_scan[1].message == "This barcode is not a parcel on today's route"


async def test_slow_typing_then_enter_submits_the_input_normally() -> None:
    rig = make_rig()
    async with rig.app.run_test(size=(40, 20)) as pilot:
        await open_first_stop(pilot)
        await pilot.press("m", *"LK100002", "enter")
        await rig.app.workers.wait_for_complete()
        assert rig.last_scan[0].source == ScanSource.MANUAL
        assert rig.workflow.state.stops["S1"].scanned_package_ids == ("P-101",)
