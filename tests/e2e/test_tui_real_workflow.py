"""The TUI on the real DriverWorkflow (fake service and doors from core_fakes, real verifier and outbox)."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Static

from driver_app.adapters.credentials_memory import MemoryCredentialStore
from driver_app.adapters.outbox_sqlite import SqliteOutbox
from driver_app.core.ports import DoorOutcome, NearbyDoor
from driver_app.core.state import StopPhase
from driver_app.core.workflow import DriverWorkflow
from driver_app.settings import BleMode, Settings
from driver_app.tui import create_app
from driver_app.tui.screens.route import RouteScreen
from driver_app.tui.screens.stop import StopScreen
from driver_app.tui.widgets.notice import NoticeBox
from tests.core_fakes import FakeAccess, FakeClock, FakeDoors
from tests.tui_fakes import KeyClock, manual_scan


def build(tmp_path: Path):
    clock = FakeClock()
    doors = FakeDoors(clock, [NearbyDoor("ELM-N", -70), NearbyDoor("ELM-S", -40), NearbyDoor("OAK-1", -60)])
    credentials = MemoryCredentialStore()
    app = create_app(
        lambda on_change: DriverWorkflow(
            access=FakeAccess(clock),
            doors=doors,
            credentials=credentials,
            outbox=SqliteOutbox(tmp_path / "outbox.db"),
            clock=clock,
            on_change=on_change,
        ),
        Settings(ble_mode=BleMode.SIM),
        clock=clock,
        key_clock=KeyClock(),
    )
    return app, doors


async def sign_in(pilot) -> None:
    pilot.app.screen.query_one("#driver-id").value = "demo"
    pilot.app.screen.query_one("#password").value = "demo-password"
    pilot.app.screen.query_one("#password").focus()
    await pilot.press("enter")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def test_a_stop_from_sign_in_to_delivery(tmp_path: Path) -> None:
    app, doors = build(tmp_path)
    async with app.run_test(size=(40, 20)) as pilot:
        await sign_in(pilot)
        assert isinstance(app.screen, RouteScreen)
        assert "1/3 stops delivered" in str(app.screen.query_one("#progress", Static).render())
        await pilot.press("enter")  # the highlighted stop is the current one: s1
        await pilot.pause()
        assert isinstance(app.screen, StopScreen)
        await manual_scan(pilot, "TRK0003")
        assert "belongs to stop 2 (7 Oak Ave)" in str(app.screen.query_one("VerdictLine", Static).render())
        await manual_scan(pilot, "TRK0001")
        await pilot.press("u")
        await app.workers.wait_for_complete()
        await pilot.pause()
        stop = app.workflow.state.stops["s1"]
        assert stop.phase is StopPhase.UNLOCKED and doors.unlocked == ["ELM-S"]
        assert "South entrance" in str(app.screen.query_one("#door", Static).render())
        assert "Relocks in 5 s → d Deliver" in str(app.screen.query_one("#step", Static).render())
        await pilot.press("d")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, RouteScreen)
        assert app.workflow.state.stops["s1"].phase is StopPhase.DELIVERED
        assert app.workflow.state.current_stop_id == "s2"


async def test_a_jammed_door_says_what_to_do_and_unlock_stays_available(tmp_path: Path) -> None:
    app, doors = build(tmp_path)
    doors.outcomes.append(DoorOutcome("ELM-S", False, "door_jammed", b"receipt-jammed"))
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await pilot.press("enter")
        await pilot.pause()
        await manual_scan(pilot, "TRK0002")
        await pilot.press("u")
        await app.workers.wait_for_complete()
        await pilot.pause()
        shown = str(app.screen.query_one(NoticeBox).render())
        assert "did not open" in shown and "Push the door, or call dispatch" in shown
        assert app.screen.check_action("unlock", ()) and not app.screen.check_action("deliver", ())
        await pilot.press("u")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.workflow.state.stops["s1"].phase is StopPhase.UNLOCKED
        assert not app.screen.query_one(NoticeBox).has_class("-shown")


async def test_the_door_picker_lists_what_the_workflow_heard(tmp_path: Path) -> None:
    app, doors = build(tmp_path)
    async with app.run_test(size=(40, 20)) as pilot:
        await sign_in(pilot)
        await pilot.press("enter")
        await pilot.pause()
        await manual_scan(pilot, "TRK0001")
        await pilot.press("c")
        await pilot.pause()
        options = app.screen.query_one("OptionList")
        prompts = [options.get_option_at_index(i).prompt.plain for i in range(options.option_count)]
        assert prompts == ["South entrance (ELM-S)  -40 dBm", "North entrance (ELM-N)  -70 dBm"]
        await pilot.press("down", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert doors.unlocked == ["ELM-N"]
        assert app.workflow.state.stops["s1"].phase is StopPhase.UNLOCKED
