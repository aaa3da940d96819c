"""The door-position sensor: forced, held-open and unlocked-but-never-opened doors raise ALERT
receipts that no grant caused, signed and chained like every other receipt."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from mock_building.door.state import DoorState
from mock_building.door.store import DoorStore
from mock_building.scenario.loader import parse_scenario
from protocol.keys import public_key_bytes
from protocol.reasons import Outcome, ReasonCode
from protocol.receipt import Receipt, verify_chain
from tests.door_air import air_door
from tests.door_support import (
    DOOR_ID,
    DOOR_KEY,
    FakeScheduler,
    Issuer,
    door_config,
    fixed_key,
    make_controller,
    unlock_request,
)
from tests.service_support import SCENARIO_TOML

pytestmark = pytest.mark.timeout(60)

HOLD_OPEN_S = 0.3


def _alerts(state_dir: Path) -> list[Receipt]:
    bodies = [body for _, body in DoorStore(state_dir).receipts()]
    report = verify_chain(bodies, public_key_bytes(DOOR_KEY), DOOR_ID)
    assert report.breaks == () and report.gaps == () and report.rejected == ()
    return [receipt for receipt in report.accepted if receipt.outcome is Outcome.ALERT]


async def test_forced_door_raises_one_alert_and_the_live_state_shows_it_open(tmp_path: Path) -> None:
    async with air_door(tmp_path) as door:
        controller = door.door.controller
        controller.faults.set(forced=True)
        assert controller.state.door_open and controller.state.last_reason is ReasonCode.DOOR_FORCED
        controller.faults.set(forced=True, jammed=False)  # no new event, no new alert
        controller.faults.set(forced=False)
        assert not controller.state.door_open
    alerts = _alerts(tmp_path)
    assert [(a.reason, a.grant_id) for a in alerts] == [(ReasonCode.DOOR_FORCED, None)]


@pytest.mark.parametrize(
    ("fault", "reason"),
    [("held_open", ReasonCode.DOOR_HELD_OPEN), ("nobody_enters", ReasonCode.UNLOCKED_NOT_OPENED)],
)
async def test_after_an_unlock_over_the_air_the_relock_raises_the_alert(
    tmp_path: Path, fault: str, reason: ReasonCode
) -> None:
    async with air_door(tmp_path, hold_open_s=HOLD_OPEN_S) as door:
        controller = door.door.controller
        relocked = asyncio.Event()

        def note(state: DoorState) -> None:
            if state.locked and state.last_outcome is not None:
                relocked.set()

        controller.subscribe(note)
        controller.faults.set(**{fault: True})
        assert (await door.honest_unlock()).reason is ReasonCode.OK
        async with asyncio.timeout(5):
            await relocked.wait()
        assert controller.state.last_reason is reason
        assert controller.state.door_open is (fault == "held_open")
    assert [a.reason for a in _alerts(tmp_path)] == [reason]


def test_a_healthy_unlock_raises_no_alert(tmp_path: Path) -> None:
    issuer, clock, handheld = Issuer(), FakeScheduler(), fixed_key()
    controller = make_controller(door_config(tmp_path, issuer), clock)
    session = controller.open_session()
    grant = issuer.grant(handheld)
    request = unlock_request(grant, handheld, controller.issue_challenge(session))
    attempt = controller.handle_unlock(request, session)
    assert attempt is not None and attempt.outcome is Outcome.UNLOCKED and controller.state.door_open
    clock.advance(10)
    assert controller.state.locked and not controller.state.door_open
    controller.close()
    assert _alerts(tmp_path) == []


def test_scenarios_set_the_sensor_faults() -> None:
    with_faults = SCENARIO_TOML.replace(
        'id = "C-1"\nbuilding = "C"\nname = "Lobby"\n',
        'id = "C-1"\nbuilding = "C"\nname = "Lobby"\n[doors.faults]\nheld_open = true\nnobody_enters = true\n',
    )
    faults = parse_scenario(with_faults).door("C-1").faults
    assert (faults.forced, faults.held_open, faults.nobody_enters) == (False, True, True)
