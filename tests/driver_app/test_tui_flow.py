"""Pilot flows through the whole TUI with a fake workflow, at handheld and desktop sizes."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from types import MappingProxyType

import pytest
from textual.widgets import Input, OptionList, Static

from driver_app.core.errors import ServiceUnreachable
from driver_app.core.messages import NoticeContext, notice_for
from driver_app.core.state import StopPhase
from driver_app.tui.screens.base import DEMO_BANNER, MEMORY_BANNER
from driver_app.tui.screens.diagnostics import DiagnosticsScreen
from driver_app.tui.screens.door_picker import DoorPickerScreen
from driver_app.tui.screens.route import RouteScreen
from driver_app.tui.screens.sign_in import SignInScreen
from driver_app.tui.screens.stop import StopScreen
from driver_app.tui.widgets.notice import NoticeBox
from driver_app.tui.widgets.step_line import StepLine
from tests.core_fakes import phase_of
from tests.tui_fakes import make_rig, manual_scan, open_first_stop, prompt_of, sign_in

SIZES = [(40, 20), (80, 24)]


def text_of(app, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


@pytest.mark.parametrize("size", SIZES)
async def test_sign_in_route_stop_scan_unlock_deliver(size: tuple[int, int]) -> None:
    rig = make_rig()
    async with rig.app.run_test(size=size) as pilot:
        assert isinstance(rig.app.screen, SignInScreen)
        await sign_in(pilot, typed=True)
        assert isinstance(rig.app.screen, RouteScreen)
        assert "0/3 stops delivered" in text_of(rig.app, "#progress")

        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(rig.app.screen, StopScreen)
        assert "12 Elm St" in text_of(rig.app, "#address")
        assert not rig.app.screen.check_action("unlock", ())

        await manual_scan(pilot, "LK100001", typed=True)
        assert rig.workflow.state.stops["S1"].scanned_package_ids == ("P-100",)
        assert "Parcel scanned" in str(rig.app.screen.query_one("VerdictLine", Static).render())
        assert rig.app.screen.check_action("unlock", ())

        await pilot.press("u")  # the one key
        await rig.app.workers.wait_for_complete()
        await pilot.pause()
        stop = rig.workflow.state.stops["S1"]
        assert stop.phase is StopPhase.UNLOCKED and stop.door_id == "ELM-S"  # the strongest
        phases = str(rig.app.screen.query_one("PhaseList", Static).render())
        for label in ("Finding door", "Requesting grant", "Connecting", "Verifying", "0.25 s", "scan→open"):
            assert label in phases
        assert "South entrance" in text_of(rig.app, "#door")
        assert "Relocks in 5 s → d Deliver" in text_of(rig.app, "#step")
        rig.clock.mono += 3.2
        rig.app.screen.query_one("#step", StepLine).render_now()
        assert "Relocks in 2 s → d Deliver" in text_of(rig.app, "#step")

        await pilot.press("d")
        await rig.app.workers.wait_for_complete()
        await pilot.pause()
        assert rig.workflow.state.stops["S1"].phase is StopPhase.DELIVERED
        assert isinstance(rig.app.screen, RouteScreen)
        assert "1/3 stops delivered" in text_of(rig.app, "#progress")
        assert rig.workflow.state.current_stop_id == "S2"


async def test_wrong_password_shows_the_notice_and_stays() -> None:
    rig = make_rig()
    async with rig.app.run_test(size=(40, 20)) as pilot:
        await sign_in(pilot, password="nope")
        assert isinstance(rig.app.screen, SignInScreen)
        notice = rig.app.screen.query_one(NoticeBox)
        assert notice.has_class("-shown")
        assert "Driver id or password not recognised" in str(notice.render())
        assert "Check them and sign in again" in str(notice.render())


@pytest.mark.parametrize("size", SIZES)
async def test_door_refusal_shows_message_and_next_action(size: tuple[int, int]) -> None:
    rig = make_rig()
    async with rig.app.run_test(size=size) as pilot:
        await open_first_stop(pilot)
        await manual_scan(pilot, "LK100001")
        rig.workflow.door_says = "wrong_door"
        await pilot.press("u")
        await rig.app.workers.wait_for_complete()
        await pilot.pause()
        shown = str(rig.app.screen.query_one(NoticeBox).render())
        assert "This access is for another door" in shown
        assert "Choose North entrance" in shown
        assert rig.app.screen.check_action("unlock", ())  # retry is one key away
        assert not rig.app.screen.check_action("deliver", ())


async def test_door_picker_returns_the_chosen_door() -> None:
    rig = make_rig()
    async with rig.app.run_test(size=(40, 20)) as pilot:
        await open_first_stop(pilot)
        await manual_scan(pilot, "LK100002")
        await pilot.press("c")
        await pilot.pause()
        picker = rig.app.screen
        assert isinstance(picker, DoorPickerScreen)
        options = picker.query_one(OptionList)
        assert [options.get_option_at_index(i).id for i in range(options.option_count)] == ["ELM-S", "ELM-N"]
        assert "-48 dBm" in prompt_of(options, 0).plain  # heard before being offered
        await pilot.press("down", "enter")  # the weaker one: the driver's choice wins
        await rig.app.workers.wait_for_complete()
        await pilot.pause()
        assert rig.workflow.unlocked_doors == ["ELM-N"]
        assert rig.workflow.state.stops["S1"].door_id == "ELM-N"


async def test_door_picker_cancel_unlocks_nothing() -> None:
    rig = make_rig()
    async with rig.app.run_test(size=(80, 24)) as pilot:
        await open_first_stop(pilot)
        await manual_scan(pilot, "LK100001")
        await pilot.press("c")
        await pilot.pause()
        await pilot.press("escape")
        await rig.app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(rig.app.screen, StopScreen)
        assert rig.workflow.unlocked_doors == []


async def test_single_door_stop_hides_the_picker() -> None:
    rig = make_rig()
    async with rig.app.run_test(size=(40, 20)) as pilot:
        await sign_in(pilot)
        rig.app.open_stop("S2")
        await pilot.pause()
        await manual_scan(pilot, "LK200001")
        assert rig.app.screen.check_action("unlock", ())
        assert not rig.app.screen.check_action("choose_door", ())


async def test_scan_for_another_stop_names_it() -> None:
    rig = make_rig()
    async with rig.app.run_test(size=(40, 20)) as pilot:
        await open_first_stop(pilot)
        await manual_scan(pilot, "LK300001")
        shown = str(rig.app.screen.query_one("VerdictLine", Static).render())
        assert "This parcel belongs to stop 3 (9 Pine Rd)" in shown
        assert rig.workflow.state.stops["S1"].phase is StopPhase.IDLE


async def test_demo_banner_only_in_the_demo() -> None:
    demo, real = make_rig(persistent=False), make_rig(persistent=True)
    insecure = make_rig(persistent=False, demo=False)  # a real session allowed an insecure keyring
    async with demo.app.run_test(size=(40, 20)):
        assert str(demo.app.screen.query_one(".demo-banner", Static).render()) == DEMO_BANNER
    async with real.app.run_test(size=(40, 20)):
        assert not real.app.screen.query(".demo-banner")
    async with insecure.app.run_test(size=(40, 20)):
        shown = str(insecure.app.screen.query_one(".demo-banner", Static).render())
        assert shown == MEMORY_BANNER and "DEMO" not in shown


async def test_diagnostics_lists_service_ble_camera_keyring_outbox() -> None:
    rig = make_rig()
    async with rig.app.run_test(size=(80, 24)) as pilot:
        await open_first_stop(pilot)
        await manual_scan(pilot, "LK100001")
        await pilot.press("u")
        await rig.app.workers.wait_for_complete()
        await pilot.press("f2")
        await pilot.pause()
        assert isinstance(rig.app.screen, DiagnosticsScreen)
        shown = text_of(rig.app, "#diagnostics")
        for expected in (
            "http://127.0.0.1:8750",
            "answered the last call",
            "BLE mode: sim",
            "South entrance (-48 dBm)",
            "North entrance (-71 dBm)",
            "Camera: none configured",
            "in-memory store, memory only (DEMO)",
            "Outbox: 1 waiting to sync",
        ):
            assert expected in shown
        await pilot.press("ctrl+r")
        await rig.app.workers.wait_for_complete()
        await pilot.pause()
        assert "Outbox: 0 waiting to sync" in text_of(rig.app, "#diagnostics")


async def test_keymap_remaps_a_binding_by_id() -> None:
    rig = make_rig(keymap={"stop.unlock": "o"})
    async with rig.app.run_test(size=(80, 24)) as pilot:
        await open_first_stop(pilot)
        await manual_scan(pilot, "LK100001")
        await pilot.press("u")
        await rig.app.workers.wait_for_complete()
        assert rig.workflow.unlocked_doors == []
        await pilot.press("o")
        await rig.app.workers.wait_for_complete()
        assert rig.workflow.unlocked_doors == [None]


async def test_command_palette_offers_only_available_actions() -> None:
    rig = make_rig()
    async with rig.app.run_test(size=(80, 24)) as pilot:
        await open_first_stop(pilot)
        titles = {c.title for c in rig.app.get_system_commands(rig.app.screen)}
        assert {"Sync outbox", "Diagnostics"} <= titles and "Unlock door" not in titles
        await manual_scan(pilot, "LK100001")
        titles = {c.title for c in rig.app.get_system_commands(rig.app.screen)}
        assert {"Unlock door", "Choose door"} <= titles and "Confirm delivery" not in titles
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Unlock door")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await rig.app.workers.wait_for_complete()
        await pilot.pause()
        assert rig.workflow.state.stops["S1"].phase is StopPhase.UNLOCKED


async def test_normal_typing_in_an_input_is_not_a_scan() -> None:
    rig = make_rig()
    async with rig.app.run_test(size=(40, 20)) as pilot:
        await open_first_stop(pilot)
        await pilot.press("m", *"LK10000")
        assert rig.app.screen.query_one("#manual", Input).value == "LK10000"
        assert rig.app.last_scan is None


async def test_unknown_keymap_ids_are_reported() -> None:
    rig = make_rig(keymap={"stop.unlok": "o", "stop.unlock": "o"})
    async with rig.app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        messages = [n.message for n in rig.app._notifications]
        assert messages == ["Unknown binding ids in keymap: stop.unlok"]


async def test_a_retrying_notice_is_marked_as_retrying() -> None:
    rig = make_rig()
    async with rig.app.run_test(size=(40, 20)) as pilot:
        await open_first_stop(pilot)
        notice = notice_for("service_unavailable", NoticeContext(retry_in=2.0), retrying=True)
        notice = replace(notice, retry_at=rig.clock.mono + 2.0)
        stops = dict(rig.workflow.state.stops)
        stops["S1"] = replace(stops["S1"], notice=notice)
        rig.workflow._publish(stops=MappingProxyType(stops))
        await pilot.pause()
        box = rig.app.screen.query_one(NoticeBox)
        assert box.has_class("-shown", "-retrying")
        assert str(box.render()) == "⟳ The access service is unavailable\n→ Retrying in 2 s…"
        rig.clock.mono += 1.2  # the countdown counts down, never up
        box.render_now()
        assert str(box.render()).endswith("→ Retrying in 1 s…")
        rig.clock.mono += 1.0
        box.render_now()
        assert str(box.render()).endswith("→ Retrying now…")


async def test_a_second_unlock_press_neither_restarts_nor_cancels_the_first() -> None:
    rig = make_rig()
    async with rig.app.run_test(size=(40, 20)) as pilot:
        await open_first_stop(pilot)
        await manual_scan(pilot, "LK100001")
        rig.workflow.door_answers = asyncio.Event()
        await pilot.press("u")
        await pilot.pause()
        assert rig.workflow.state.stops["S1"].phase is StopPhase.VERIFYING
        phases = str(rig.app.screen.query_one("PhaseList", Static).render())
        assert "▶ Verifying…" in phases and "✓ Connecting" in phases
        assert not rig.app.screen.check_action("unlock", ())
        rig.app.unlock()  # e.g. from a stale palette entry
        rig.app.choose_door()
        rig.workflow.door_answers.set()
        await rig.app.workers.wait_for_complete()
        await pilot.pause()
        assert rig.workflow.unlocked_doors == [None]
        assert phase_of(rig.workflow.state, "S1") is StopPhase.UNLOCKED


async def test_route_that_cannot_load_keeps_the_driver_on_sign_in_with_the_reason() -> None:
    rig = make_rig()
    async with rig.app.run_test(size=(40, 20)) as pilot:
        rig.workflow.route_error = ServiceUnreachable("connect failed")
        await sign_in(pilot)
        assert isinstance(rig.app.screen, SignInScreen)
        shown = str(rig.app.screen.query_one(NoticeBox).render())
        assert shown == "✗ No connection to the access service\n→ Move to better coverage, then retry"
        rig.workflow.route_error = None
        await sign_in(pilot)
        assert isinstance(rig.app.screen, RouteScreen)


async def test_sign_out_from_a_stop_returns_to_the_sign_in_screen() -> None:
    rig = make_rig()
    async with rig.app.run_test(size=(40, 20)) as pilot:
        await open_first_stop(pilot)
        assert isinstance(rig.app.screen, StopScreen)
        await pilot.press("ctrl+o")  # binding id app.sign_out (remappable)
        await rig.app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(rig.app.screen, SignInScreen)
        assert rig.workflow.signed_out == 1 and rig.workflow.state.driver_name is None
