"""Pilot flows through the TUI against a real mock building started in this process.

Everything under the screens is the product: the real DriverWorkflow from `build_workflow`, httpx to
the FastAPI service on a loopback port, bleak with the bumble backends on the building's virtual radio,
the SQLite outbox in tmp_path. Faults are switched through the building's own admin HTTP API. Waits
are bounded loops on the workflow's state, never sleeps.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from textual.widgets import Input

from driver_app.adapters.credentials_memory import MemoryCredentialStore
from driver_app.core.state import StopPhase
from driver_app.factory import build_workflow
from driver_app.settings import BleMode, Settings
from driver_app.tui import create_app
from driver_app.tui.app import DriverApp
from driver_app.tui.screens.diagnostics import DiagnosticsScreen
from driver_app.tui.screens.route import RouteScreen
from driver_app.tui.screens.sign_in import SignInScreen
from driver_app.tui.screens.stop import StopScreen
from driver_app.tui.widgets.notice import NoticeBox
from driver_app.tui.widgets.phases import PhaseList
from driver_app.tui.widgets.verdict import VerdictLine
from mock_building.building.running import RunningBuilding
from tests.core_fakes import phase_of
from tests.noon_clock import HandheldNoonClock, NoonClock
from tests.tui_fakes import KeyClock, manual_scan

pytestmark = pytest.mark.timeout(60)

S1_PARCEL = "1Z999AA10123456784"
S2_PARCEL = "1Z999AA10123456791"
S1_DOORS = ("ELM-N", "ELM-S")


def make_app(building: tuple[RunningBuilding, NoonClock], tmp_path: Path) -> DriverApp:
    running, clock = building
    settings = Settings(
        access_url=running.url,
        ble_mode=BleMode.SIM,
        radio_address=running.radio_address,
        data_dir=tmp_path / "app",
    )
    handheld_clock = HandheldNoonClock(clock)
    credentials = MemoryCredentialStore()
    return create_app(
        lambda on_change: build_workflow(
            settings, credentials=credentials, on_change=on_change, clock=handheld_clock
        ),
        settings,
        clock=handheld_clock,
        key_clock=KeyClock(),
    )


async def admin_put(running: RunningBuilding, path: str, body: dict[str, object]) -> None:
    """The building's admin API over real HTTP (the same calls `mock-building fault` makes)."""
    token = running.scenario.admin_token
    async with httpx.AsyncClient(base_url=running.url, headers={"Authorization": f"Bearer {token}"}) as http:
        if path == "/v1/admin/faults":  # the service's PUT replaces every fault: read, merge, write
            current = (await http.get(path)).raise_for_status().json()
            body = {**current, **body}
        (await http.put(path, json=body)).raise_for_status()


async def until(pilot, condition: Callable[[], bool], *, rounds: int = 400) -> None:
    """Let the app run until `condition` holds; fail after a bounded number of rounds."""
    for _ in range(rounds):
        if condition():
            await pilot.pause()
            return
        await pilot.app.workers.wait_for_complete()
        await pilot.pause(0.01)
    raise AssertionError("the app never reached the expected state")


def idle(app: DriverApp, group: str) -> bool:
    """No worker of `group` (session, door, deliver, sync) is still running."""
    return not any(worker.group == group and not worker.is_finished for worker in app.workers)


def shown(app: DriverApp, selector: object) -> str:
    return str(app.screen.query_one(selector).render())  # type: ignore[call-overload]


async def submit_sign_in(pilot, password: str) -> None:
    app: DriverApp = pilot.app
    app.screen.query_one("#driver-id", Input).value = "demo"
    app.screen.query_one("#password", Input).value = password
    app.screen.query_one("#password").focus()
    await pilot.press("enter")
    await until(pilot, lambda: idle(app, "session"))


async def sign_in_and_open_stop_1(pilot) -> None:
    app: DriverApp = pilot.app
    await submit_sign_in(pilot, "demo-password")
    await until(pilot, lambda: isinstance(app.screen, RouteScreen))
    assert shown(app, "#driver") == "Driver: demo"
    assert "0/9 stops delivered" in shown(app, "#progress")
    await pilot.press("enter")  # the highlighted stop is the current one: S1
    await until(pilot, lambda: isinstance(app.screen, StopScreen))
    assert "12 Elm St" in shown(app, "#address")


async def unlock(pilot) -> None:
    await pilot.press("u")
    await until(pilot, lambda: idle(pilot.app, "door"))


async def test_a_stop_from_sign_in_to_delivery(building, tmp_path: Path) -> None:
    app = make_app(building, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in_and_open_stop_1(pilot)
        await manual_scan(pilot, S1_PARCEL)
        assert app.workflow.state.stops["S1"].phase is StopPhase.SCANNED
        await unlock(pilot)
        stop = app.workflow.state.stops["S1"]
        assert stop.phase is StopPhase.UNLOCKED and stop.door_id in S1_DOORS
        phases = shown(app, PhaseList)
        assert all(label in phases for label in ("Finding door", "Requesting grant", "Connecting", "Open"))
        assert "entrance" in shown(app, "#door")
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, RouteScreen))
        assert phase_of(app.workflow.state, "S1") is StopPhase.DELIVERED
        assert "1/9 stops delivered" in shown(app, "#progress")
        assert app.workflow.state.current_stop_id == "S2"


async def test_refusals_from_the_route_and_from_the_door(building, tmp_path: Path) -> None:
    running, _ = building
    for door in S1_DOORS:
        await admin_put(running, f"/v1/admin/doors/{door}/faults", {"jammed": True})
    app = make_app(building, tmp_path)
    async with app.run_test(size=(40, 20)) as pilot:
        await submit_sign_in(pilot, "not-the-password")  # the access service refuses
        assert isinstance(app.screen, SignInScreen)
        notice = shown(app, NoticeBox)
        assert "Driver id or password not recognised" in notice and "Check them and sign in again" in notice
        await sign_in_and_open_stop_1(pilot)
        await manual_scan(pilot, S2_PARCEL)
        assert "belongs to stop 2 (7 Oak Ave)" in shown(app, VerdictLine)
        assert app.workflow.state.stops["S1"].phase is not StopPhase.SCANNED
        await manual_scan(pilot, S1_PARCEL)
        await unlock(pilot)
        notice = shown(app, NoticeBox)
        assert "did not open" in notice and "Push the door, or call dispatch" in notice
        assert app.screen.check_action("unlock", ()) and not app.screen.check_action("deliver", ())
        assert phase_of(app.workflow.state, "S1") is StopPhase.SCANNED


async def test_a_door_dropping_the_link_mid_write_delivers_nothing(building, tmp_path: Path) -> None:
    running, _ = building
    for door in S1_DOORS:
        await admin_put(running, f"/v1/admin/doors/{door}/faults", {"drop_mid_write": True})
    app = make_app(building, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in_and_open_stop_1(pilot)
        await manual_scan(pilot, S1_PARCEL)
        await unlock(pilot)
        notice = shown(app, NoticeBox)
        assert "connection to the door dropped" in notice and "try again" in notice.lower()
        assert app.workflow.state.stops["S1"].phase is StopPhase.SCANNED
        assert not app.screen.check_action("deliver", ())
        assert all(s.phase is not StopPhase.DELIVERED for s in app.workflow.state.stops.values())
        assert all(running.doors[door].status().locked for door in S1_DOORS)
        for door in S1_DOORS:  # the door comes back: the driver's one key now opens it
            await admin_put(running, f"/v1/admin/doors/{door}/faults", {"drop_mid_write": False})
        await unlock(pilot)
        assert phase_of(app.workflow.state, "S1") is StopPhase.UNLOCKED
        assert not running.doors[app.workflow.state.stops["S1"].door_id or ""].status().locked


async def test_a_delivery_while_the_service_is_down_waits_in_the_outbox(building, tmp_path: Path) -> None:
    running, _ = building
    app = make_app(building, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in_and_open_stop_1(pilot)
        await manual_scan(pilot, S1_PARCEL)
        await unlock(pilot)
        assert app.workflow.state.stops["S1"].phase is StopPhase.UNLOCKED
        await admin_put(running, "/v1/admin/faults", {"down": True})
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, RouteScreen))
        assert phase_of(app.workflow.state, "S1") is StopPhase.DELIVERED
        await pilot.press("f2")
        await until(pilot, lambda: isinstance(app.screen, DiagnosticsScreen))
        queued = app.workflow.state.outbox_size
        assert queued > 0 and f"Outbox: {queued} waiting to sync" in shown(app, "#diagnostics")
        await admin_put(running, "/v1/admin/faults", {"down": False})
        await pilot.press("ctrl+r")
        await until(pilot, lambda: app.workflow.state.outbox_size == 0)
        assert "Outbox: 0 waiting to sync" in shown(app, "#diagnostics")


@pytest.mark.parametrize(
    ("hostile", "literally"),
    [("\x1b[2J", "\\x1b[2J"), ("[bold]x[/]", "[bold]x[/]"), ("[@click=app.quit]", "[@click=app.quit]")],
)
async def test_hostile_barcode_text_is_shown_literally(
    building, tmp_path: Path, hostile: str, literally: str
) -> None:
    app = make_app(building, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in_and_open_stop_1(pilot)
        await manual_scan(pilot, hostile)
        verdict = shown(app, VerdictLine)
        assert app.is_running and isinstance(app.screen, StopScreen)
        assert f"manual: {literally}" in verdict and "\x1b" not in verdict
        assert app.workflow.state.stops["S1"].phase is not StopPhase.SCANNED
