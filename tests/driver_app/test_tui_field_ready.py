"""Issue 11, driver by driver: what a driver at 40×20 would notice if it broke (Pilot, fake workflow)."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from dataclasses import replace
from types import MappingProxyType

import pytest
from textual.filter import Monochrome, NoColor
from textual.widget import Widget
from textual.widgets import Input, OptionList, Static
from textual.widgets._footer import FooterKey  # textual exports only Footer; its keys are this class

from driver_app.core.ports import Scan, ScanSource
from driver_app.core.state import HeldItem, RouteState, StopPhase, StopState
from driver_app.tui.route_view import stop_rows, window_text
from driver_app.tui.screens.confirm_quit import ConfirmQuitScreen
from driver_app.tui.screens.help import HelpScreen
from driver_app.tui.screens.route import RouteScreen, stop_prompt
from driver_app.tui.screens.stop import StopScreen
from driver_app.tui.widgets.activity import ActivityLine
from driver_app.tui.widgets.camera import CameraPanel
from driver_app.tui.widgets.notice import NoticeBox
from driver_app.tui.widgets.step_line import StepLine
from driver_app.tui.widgets.top_bar import top_bar_content
from protocol.api import DeliveryWindow
from tests.tui_fakes import ROUTE, StillCamera, make_rig, manual_scan, open_first_stop, sign_in

HANDHELD = (40, 20)


def text_of(app, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


def toasts(app) -> list[str]:
    return [n.message for n in app._notifications]


async def unlock(pilot) -> None:
    await pilot.press("u")
    await pilot.pause()
    for worker in [w for w in pilot.app.workers if w.group == "door"]:
        await worker.wait()
    await pilot.pause()


def on_screen(app, selector: str | type[Widget]) -> bool:
    """The widget is laid out inside the visible screen, above the footer."""
    region = app.screen.query_one(selector).region
    return region.height > 0 and region.bottom <= app.size.height - 1


class ReadingCamera:
    """Reads the given barcodes over and over, one per frame, until it is cancelled (or 10 s pass)."""

    description = "fake reader"

    def __init__(self, barcodes: list[str]) -> None:
        self._barcodes = barcodes
        self.frames_read = 0

    def frames(self):
        import time

        import numpy as np

        for _ in range(500):
            time.sleep(0.02)
            self.frames_read += 1
            yield np.zeros((12, 16, 3), dtype=np.uint8)

    def reads(self, frame) -> list[Scan]:
        return [Scan(self._barcodes[self.frames_read % len(self._barcodes)], ScanSource.CAMERA)]

    def close(self) -> None:
        return None


async def test_the_status_line_stays_on_screen_with_the_camera_running_at_40x20() -> None:
    camera = ReadingCamera(["LK100001"])
    rig = make_rig(camera=lambda: camera)
    async with rig.app.run_test(size=HANDHELD) as pilot:
        await open_first_stop(pilot)
        # the camera starts by itself on a stop with parcels to scan
        while rig.workflow.state.stops["S1"].phase is StopPhase.IDLE:
            await pilot.pause(0.05)
        assert rig.app.screen.query_one(CameraPanel).running  # P-101 is still to scan
        await unlock(pilot)
        assert on_screen(rig.app, "#step")
        assert "✓ Door open · scan→open 1.00 s" in text_of(rig.app, "#step")
        assert "Relocks in 5 s → d Deliver" in text_of(rig.app, "#step")
        assert "Connection" not in text_of(rig.app, "#step")
        rig.workflow.door_says = "door_jammed"
        rig.clock.mono += 10
        rig.app.screen.query_one("#step", StepLine).render_now()
        await pilot.pause()
        await unlock(pilot)
        assert on_screen(rig.app, "#step") and on_screen(rig.app, NoticeBox)
        assert "✗ Verifying failed" in text_of(rig.app, "#step")
        assert "The door accepted but did not open" in str(rig.app.screen.query_one(NoticeBox).render())
        await pilot.press("escape")


async def test_top_bar_shows_connection_outbox_and_held_items() -> None:
    rig = make_rig()
    async with rig.app.run_test(size=HANDHELD) as pilot:
        assert "✗ offline · outbox 0" in text_of(rig.app, "TopBar")
        await open_first_stop(pilot)
        await manual_scan(pilot, "LK100001")
        await unlock(pilot)
        assert "● online · outbox 1" in text_of(rig.app, "TopBar")
        rig.workflow._publish(held=(HeldItem(1, "delivery", "d-1", "already_delivered"),))
        await pilot.pause()
        assert "outbox 1 (1 held)" in text_of(rig.app, "TopBar")


async def test_after_the_relock_one_key_opens_again_without_a_rescan() -> None:
    rig = make_rig()
    async with rig.app.run_test(size=HANDHELD) as pilot:
        await open_first_stop(pilot)
        await manual_scan(pilot, "LK100001")
        await unlock(pilot)
        assert not rig.app.screen.check_action("unlock", ())  # open right now: deliver instead
        rig.clock.mono += 5.5
        await pilot.pause(0.3)  # the status line's own timer notices the relock
        assert "Door opened, locked again" in text_of(rig.app, "#step")
        assert "u reopen" in text_of(rig.app, "#step")
        assert rig.app.screen.check_action("unlock", ())
        await unlock(pilot)
        assert rig.workflow.unlocked_doors == [None, None]
        assert rig.workflow.state.stops["S1"].phase is StopPhase.UNLOCKED


async def test_keys_that_cannot_act_say_why() -> None:
    rig = make_rig()
    async with rig.app.run_test(size=HANDHELD) as pilot:
        await sign_in(pilot)
        await pilot.press("down", "enter")  # stop 2: one door
        await pilot.pause()
        await pilot.press("d", "u")
        await pilot.pause()
        assert toasts(rig.app) == ["Open the door first", "Scan a parcel of this stop first"]
        await manual_scan(pilot, "LK200001")
        await pilot.press("c")
        await pilot.pause()
        assert toasts(rig.app)[-1] == "This stop has only one door"
        await pilot.press("ctrl+r")
        await rig.app.workers.wait_for_complete()
        await pilot.pause()
        assert toasts(rig.app)[-1] == "Outbox: 0 sent, 0 waiting"


async def test_footer_puts_a_remapped_primary_key_first_at_40_columns() -> None:
    rig = make_rig(keymap={"stop.unlock": "x"})
    async with rig.app.run_test(size=HANDHELD) as pilot:
        await open_first_stop(pilot)
        await manual_scan(pilot, "LK100001")
        keys = [(k.key_display, k.description) for k in rig.app.screen.query(FooterKey)]
        assert keys[0] == ("x", "Unlock")
        assert ("?", "Help") in keys and all(desc != "Deliver" for _, desc in keys)  # only what acts now
        footer = rig.app.screen.query_one("Footer")
        assert sum(k.region.width for k in rig.app.screen.query(FooterKey)[:2]) <= footer.region.width


async def test_help_lists_only_what_can_act_now() -> None:
    rig = make_rig()
    async with rig.app.run_test(size=HANDHELD) as pilot:
        await open_first_stop(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(rig.app.screen, HelpScreen)
        shown = text_of(rig.app, "#help")
        assert "Camera" not in shown  # no camera configured
        assert "Unlock" not in shown and "Deliver" not in shown  # nothing scanned yet
        assert "Type" in shown and "Route" in shown and "Quit" in shown
        await pilot.press("escape")
        await manual_scan(pilot, "LK100001")
        await pilot.press("f1")
        await pilot.pause()
        assert "u Unlock" in text_of(rig.app, "#help")


async def test_palette_offers_unlock_choose_door_type_and_back_and_no_keys_panel() -> None:
    rig = make_rig()
    async with rig.app.run_test(size=HANDHELD) as pilot:
        await open_first_stop(pilot)
        await manual_scan(pilot, "LK100001")
        titles = [c.title for c in rig.app.get_system_commands(rig.app.screen)]
        for title in ("Unlock door", "Choose door", "Type barcode", "Back to route", "Help"):
            assert title in titles
        assert "Keys" not in titles


async def test_quit_asks_while_the_outbox_holds_items() -> None:
    rig = make_rig()
    async with rig.app.run_test(size=HANDHELD) as pilot:
        await open_first_stop(pilot)
        await manual_scan(pilot, "LK100001")
        await unlock(pilot)  # the fake queues a receipt
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert isinstance(rig.app.screen, ConfirmQuitScreen)
        assert "1 item(s) wait in the outbox" in text_of(rig.app, "#quit-reason")
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(rig.app.screen, StopScreen) and rig.app.is_running
        await pilot.press("ctrl+q")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert not rig.app.is_running


async def test_quit_asks_while_a_door_is_opening() -> None:
    rig = make_rig()
    async with rig.app.run_test(size=HANDHELD) as pilot:
        await open_first_stop(pilot)
        await manual_scan(pilot, "LK100001")
        rig.workflow.door_answers = asyncio.Event()
        await pilot.press("u")
        while rig.workflow.state.stops["S1"].phase is not StopPhase.VERIFYING:
            await pilot.pause(0.01)
        assert "Verifying… " in text_of(rig.app, "#step")
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert isinstance(rig.app.screen, ConfirmQuitScreen)
        assert "A door is being opened right now." in text_of(rig.app, "#quit-reason")
        await pilot.press("escape")
        rig.workflow.door_answers.set()
        await rig.app.workers.wait_for_complete()
        assert rig.app.is_running


async def test_the_camera_stops_once_every_parcel_is_scanned_and_messages_stay_with_their_stop() -> None:
    camera = ReadingCamera(["LK100001", "LK100002"])
    cameras = iter([camera, StillCamera()])  # at the next stop: a camera that reads nothing
    rig = make_rig(camera=lambda: next(cameras))
    async with rig.app.run_test(size=HANDHELD) as pilot:
        await open_first_stop(pilot)
        # the camera starts by itself on a stop with parcels to scan
        while len(rig.workflow.state.stops["S1"].scanned_package_ids) < 2:
            await pilot.pause(0.05)
        await pilot.pause(0.2)
        panel = rig.app.screen.query_one(CameraPanel)
        assert not panel.running
        read = camera.frames_read
        await pilot.pause(0.3)
        assert camera.frames_read <= read + 1  # no more frames read, no verdict overwritten
        assert "Parcel scanned" in text_of(rig.app, "VerdictLine")
        await pilot.press("escape")
        await pilot.pause()
        assert rig.app.last_scan is None  # the stop's message left with the driver
        await pilot.press("down", "enter")
        await pilot.pause()
        assert text_of(rig.app, "VerdictLine") == ""


async def test_after_delivering_the_cursor_is_on_the_next_open_stop_with_a_confirmation() -> None:
    rig = make_rig()
    async with rig.app.run_test(size=HANDHELD) as pilot:
        await open_first_stop(pilot)
        await manual_scan(pilot, "LK100001")
        await unlock(pilot)
        await pilot.press("d")
        await rig.app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(rig.app.screen, RouteScreen)
        assert "Stop 1 delivered" in toasts(rig.app)
        highlighted = rig.app.screen.query_one("#stops", OptionList).highlighted_option
        assert highlighted is not None and highlighted.id == "S2"
        await pilot.press("enter")  # Enter continues the route
        await pilot.pause()
        assert rig.workflow.state.current_stop_id == "S2"


async def test_a_failed_step_is_marked_failed_not_done() -> None:
    rig = make_rig()
    async with rig.app.run_test(size=HANDHELD) as pilot:
        await open_first_stop(pilot)
        await manual_scan(pilot, "LK100001")
        rig.workflow.door_says = "wrong_issuer"
        await unlock(pilot)
        phases = text_of(rig.app, "PhaseList")
        assert "✗ Verifying" in phases and "✓ Verifying" not in phases
        assert "scan→open" not in phases


async def test_the_stop_shows_its_delivery_window() -> None:
    rig = make_rig()
    async with rig.app.run_test(size=HANDHELD) as pilot:
        await open_first_stop(pilot)
        assert text_of(rig.app, "#window") == "Window 08:00–18:00"


def test_a_stop_delivered_before_this_session_keeps_its_parcel_count() -> None:
    stops = {s.stop_id: StopState(s.stop_id) for s in ROUTE.stops}
    stops["S1"] = StopState("S1", phase=StopPhase.DELIVERED)  # as after a reload: nothing scanned here
    rows = stop_rows(RouteState(route=ROUTE, stops=MappingProxyType(stops), current_stop_id="S2"))
    assert "delivered · 2 ▣" in stop_prompt(rows[0]).plain
    assert "0/2" not in stop_prompt(rows[0]).plain


async def test_no_color_and_dumb_terminals_are_monochrome_with_marks(monkeypatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    rig = make_rig()
    assert any(isinstance(f, Monochrome) for f in rig.app._filters)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "dumb")
    rig = make_rig()
    os.environ.pop("NO_COLOR", None)
    assert any(isinstance(f, NoColor) for f in rig.app._filters)
    async with rig.app.run_test(size=HANDHELD) as pilot:
        await open_first_stop(pilot)
        await manual_scan(pilot, "LK300001")
        assert "✗ This parcel belongs to stop 3" in text_of(rig.app, "VerdictLine")


STARTS = int(os.environ.get("LOBBYKEY_START_LOOPS", "10"))


async def test_start_up_never_races_the_header(monkeypatch) -> None:
    """A resumed session switches screens at once; that raced Header's title watcher (NoMatches).
    Run with LOBBYKEY_START_LOOPS=50 to repeat it more."""
    from tests.tui_fakes import FakeWorkflow

    async def resumed(self) -> bool:
        self._publish(driver_name="d-7", online=True)
        return True

    monkeypatch.setattr(FakeWorkflow, "resume_session", resumed)
    for _ in range(STARTS):
        rig = make_rig()
        async with rig.app.run_test(size=HANDHELD) as pilot:
            await rig.app.workers.wait_for_complete()
            await pilot.pause()
            assert isinstance(rig.app.screen, RouteScreen)


async def test_a_slow_sign_in_shows_what_is_running_and_for_how_long(monkeypatch: pytest.MonkeyPatch) -> None:
    rig = make_rig()
    gate = asyncio.Event()
    original = rig.workflow.sign_in

    async def slow_sign_in(driver_id: str, password: str) -> None:
        await gate.wait()
        await original(driver_id, password)

    monkeypatch.setattr(rig.workflow, "sign_in", slow_sign_in)
    async with rig.app.run_test(size=HANDHELD) as pilot:
        rig.app.screen.query_one("#driver-id", Input).value = "d-7"
        rig.app.screen.query_one("#password", Input).value = "secret"
        rig.app.screen.query_one("#password").focus()
        await pilot.press("enter")
        await pilot.pause()
        rig.clock.mono += 1.5
        rig.app.screen.query_one("#activity", ActivityLine).render_now()
        assert "Signing in… 1.5 s" in text_of(rig.app, "#activity")
        gate.set()
        await rig.app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(rig.app.screen, RouteScreen)
        assert rig.app.activity is None


async def test_a_retry_shows_attempt_n_of_n_and_counts_down() -> None:
    from driver_app.core.messages import NoticeContext, notice_for
    from driver_app.core.state import RetryCountdown

    rig = make_rig()
    async with rig.app.run_test(size=HANDHELD) as pilot:
        await open_first_stop(pilot)
        notice = notice_for("service_unavailable", NoticeContext(retry_in=4.0), retrying=True)
        stops = dict(rig.workflow.state.stops)
        stops["S1"] = replace(stops["S1"], notice=notice)
        for left in (4.0, 3.0):
            countdown = RetryCountdown("service_unavailable", 2, 4, left, service_asked=True)
            rig.workflow._publish(stops=MappingProxyType(stops), retry=countdown)
            await pilot.pause()
            shown = str(rig.app.screen.query_one(NoticeBox).render())
            assert f"Retrying (attempt 2 of 4) in {left:.0f} s (as the service asked)…" in shown


def test_a_whole_day_window_reads_all_day_not_midnight_to_midnight() -> None:
    day = dt.datetime(2026, 11, 29, tzinfo=dt.UTC)
    assert window_text(DeliveryWindow(start=day, end=day + dt.timedelta(days=1))) == "all day"
    assert window_text(DeliveryWindow(start=day.replace(hour=8), end=day.replace(hour=18))) == "08:00–18:00"


def test_the_top_line_shows_the_door_radio_once_used_with_a_mark() -> None:
    assert "radio" not in top_bar_content("LobbyKey", RouteState(online=True)).plain
    assert "radio ✓" in top_bar_content("LobbyKey", RouteState(online=True, radio_available=True)).plain
    assert "radio ✗" in top_bar_content("LobbyKey", RouteState(online=True, radio_available=False)).plain
