"""Any sequence of driver actions and scans, however odd, ends in a consistent state and never crashes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from driver_app.adapters.credentials_memory import MemoryCredentialStore
from driver_app.adapters.outbox_sqlite import SqliteOutbox
from driver_app.core.errors import ServiceUnreachable, WorkflowError
from driver_app.core.messages import known_reasons
from driver_app.core.ports import DoorOutcome, NearbyDoor, Scan
from driver_app.core.retry import Backoff
from driver_app.core.state import RouteState, StopPhase
from driver_app.core.workflow import DriverWorkflow
from protocol.api import DeliveryConfirmation
from tests.core_fakes import FakeAccess, FakeClock, FakeDoors

BARCODES = ["TRK0001", "TRK0002", "TRK0003", "TRK0004"]
texts = st.one_of(st.sampled_from(BARCODES), st.text(max_size=40))
actions = st.lists(
    st.one_of(
        st.tuples(st.just("scan"), texts),
        st.tuples(st.just("select"), st.sampled_from(["s1", "s2", "s3", "nope"])),
        st.tuples(st.just("unlock"), st.sampled_from([None, "ELM-N", "ELM-S", "OAK-1", "XX"])),
        st.tuples(st.just("confirm"), st.none()),
        st.tuples(st.just("sync"), st.none()),
        st.tuples(st.just("door_says"), st.sampled_from(["door_jammed", "expired", "wrong_door"])),
        st.tuples(st.just("service_down"), st.integers(1, 5)),
    ),
    max_size=25,
)


async def _play(steps: list[tuple[str, object]]) -> None:
    clock = FakeClock()
    access = FakeAccess(clock)
    doors = FakeDoors(clock, [NearbyDoor("ELM-N", -70), NearbyDoor("ELM-S", -40), NearbyDoor("OAK-1", -60)])
    outbox = SqliteOutbox(Path(":memory:"))
    seen: list[RouteState] = []

    async def no_wait(_: float) -> None:
        await asyncio.sleep(0)

    workflow = DriverWorkflow(
        access=access,
        doors=doors,
        credentials=MemoryCredentialStore(),
        outbox=outbox,
        clock=clock,
        on_change=seen.append,
        sleep=no_wait,
        backoff=Backoff(attempts=2, first=0.01),
    )
    await workflow.sign_in("demo", "demo-password")
    await workflow.load_route()
    delivered: set[str] = {"s3"}
    for action, arg in steps:
        if action == "scan":
            await workflow.submit_scan(Scan(str(arg), "wedge"))
        elif action == "select":
            if arg == "nope":
                with pytest.raises(WorkflowError, match="not_found"):
                    workflow.select_stop(arg)
            else:
                workflow.select_stop(str(arg))
        elif action == "unlock":
            outcome = await workflow.unlock(arg if isinstance(arg, str) else None)
            assert outcome.reason in known_reasons()
        elif action == "confirm":
            await workflow.confirm_delivery()
        elif action == "sync":
            await workflow.sync_outbox()
        elif action == "door_says":
            doors.outcomes.append(DoorOutcome("ELM-S", False, str(arg), b"r-" + str(arg).encode()))
        elif action == "service_down":
            for method in ("request_grant", "upload_receipts", "confirm_delivery"):
                access.fail(method, *(ServiceUnreachable("down") for _ in range(int(arg))))  # type: ignore[call-overload]
        state = workflow.state
        assert state.outbox_size == outbox.size()
        assert all(
            s.phase
            not in (
                StopPhase.FINDING_DOOR,
                StopPhase.REQUESTING_GRANT,
                StopPhase.CONNECTING,
                StopPhase.VERIFYING,
            )
            for s in state.stops.values()
        )
        assert delivered <= {sid for sid, s in state.stops.items() if s.phase is StopPhase.DELIVERED}
        delivered = {sid for sid, s in state.stops.items() if s.phase is StopPhase.DELIVERED}
        for stop in state.stops.values():
            if stop.notice is not None:
                assert stop.notice.message and stop.notice.next_action
    await workflow.aclose()
    # every stop the driver delivered is confirmed at the service or still queued: nothing lost
    queued = {
        DeliveryConfirmation.model_validate_json(item.payload).stop_id
        for item in outbox.items()
        if item.kind == "delivery"
    }
    confirmed = {d.stop_id for d in access.deliveries.values()}
    assert delivered - {"s3"} == confirmed | queued


@settings(max_examples=120, deadline=None)
@given(actions)
@example(
    [
        ("scan", "TRK0001"),
        ("unlock", None),
        ("confirm", None),
        ("service_down", 5),
        ("scan", "TRK0003"),
        ("select", "s2"),
        ("scan", "TRK0003"),
        ("unlock", None),
        ("confirm", None),
    ]
)
def test_random_action_sequences_keep_the_state_consistent(steps: list[tuple[str, object]]) -> None:
    asyncio.run(_play(steps))
