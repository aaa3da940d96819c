"""Each unlock attempt times its own steps and marks the one that failed; retries count down."""

from __future__ import annotations

from pathlib import Path

import pytest

from driver_app.adapters.credentials_memory import MemoryCredentialStore
from driver_app.adapters.outbox_sqlite import SqliteOutbox
from driver_app.core.errors import DoorUnreachable
from driver_app.core.ports import DoorOutcome, NearbyDoor, Scan
from driver_app.core.retry import Backoff
from driver_app.core.state import RouteState, StopPhase
from driver_app.core.workflow import DriverWorkflow
from tests.core_fakes import FakeAccess, FakeClock, FakeDoors


@pytest.fixture
async def rig(tmp_path: Path):
    clock = FakeClock()
    doors = FakeDoors(clock, [NearbyDoor("ELM-N", -70), NearbyDoor("ELM-S", -40)])
    access = FakeAccess(clock)
    states: list[RouteState] = []

    async def sleep(seconds: float) -> None:
        clock.advance(seconds)

    workflow = DriverWorkflow(
        access=access,
        doors=doors,
        credentials=MemoryCredentialStore(),
        outbox=SqliteOutbox(tmp_path / "outbox.sqlite3"),
        clock=clock,
        on_change=states.append,
        sleep=sleep,
        backoff=Backoff(attempts=3, first=0.5, factor=2.0, cap=4.0),
    )
    await workflow.sign_in("demo", "demo-password")
    await workflow.load_route()
    await workflow.submit_scan(Scan("TRK0001", "manual"))
    yield workflow, doors, access, clock, states
    await workflow.aclose()


def steps(workflow: DriverWorkflow) -> dict[StopPhase, float]:
    timings = workflow.state.stops["s1"].timings
    return {t.phase: t.seconds for t in timings if t.phase is not StopPhase.SCANNED}


async def test_a_door_refusal_marks_verifying_as_the_failed_step(rig) -> None:
    workflow, doors, *_ = rig
    doors.outcomes.append(DoorOutcome("ELM-S", False, "wrong_issuer", b"r"))
    await workflow.unlock()
    assert workflow.state.stops["s1"].failed_phase is StopPhase.VERIFYING


async def test_no_door_in_range_marks_finding_door(rig) -> None:
    workflow, doors, *_ = rig
    doors.nearby = []
    await workflow.unlock()
    assert workflow.state.stops["s1"].failed_phase is StopPhase.FINDING_DOOR


async def test_a_new_attempt_times_its_own_steps_and_keeps_the_scan_to_open_total(rig) -> None:
    workflow, doors, _, clock, _ = rig
    started = clock.mono
    doors.outcomes.append(DoorUnreachable("door_link_lost", "dropped"))
    await workflow.unlock()
    first = steps(workflow)
    assert first[StopPhase.CONNECTING] == pytest.approx(doors.link_seconds)
    await workflow.unlock()
    stop = workflow.state.stops["s1"]
    assert stop.phase is StopPhase.UNLOCKED and stop.failed_phase is None
    second = steps(workflow)
    assert second[StopPhase.CONNECTING] == pytest.approx(doors.link_seconds)  # its own, not 2× summed
    assert stop.seconds_to_open == pytest.approx(clock.mono - started)  # scan→open: the whole time
