"""The workflow core with fake ports: every phase, refusal, retry and the outbox-first rule."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from driver_app.adapters.credentials_memory import MemoryCredentialStore
from driver_app.adapters.outbox_sqlite import SqliteOutbox
from driver_app.core.errors import (
    AccessRefused,
    ClientReason,
    DoorUnreachable,
    ServiceUnreachable,
    WorkflowError,
)
from driver_app.core.handheld import DRIVER_ID, REFRESH_TOKEN, handheld_key_entry
from driver_app.core.ports import DoorOutcome, NearbyDoor, OutboxOwner, Scan
from driver_app.core.retry import Backoff
from driver_app.core.state import RouteState, ScanVerdictKind, StopPhase
from driver_app.core.workflow import DriverWorkflow
from protocol.api import DoorUpkeep
from tests.core_fakes import FakeAccess, FakeClock, FakeDoors, phase_of


class Harness:
    def __init__(
        self,
        tmp_path: Path,
        outbox: SqliteOutbox | None = None,
        *,
        restart_of: Harness | None = None,
    ) -> None:
        """`restart_of`: the app restarted on the same handheld (same keyring, same service)."""
        self.clock = FakeClock()
        self.access: FakeAccess = restart_of.access if restart_of else FakeAccess(self.clock)
        self.doors = FakeDoors(
            self.clock, [NearbyDoor("ELM-N", -70), NearbyDoor("ELM-S", -40), NearbyDoor("OAK-1", -60)]
        )
        self.credentials: MemoryCredentialStore = (
            restart_of.credentials if restart_of else MemoryCredentialStore()
        )
        self.outbox = outbox or SqliteOutbox(tmp_path / "outbox.sqlite3")
        self.states: list[RouteState] = []
        self.watchers: list[Callable[[RouteState], None]] = []
        self.sleeps: list[float] = []
        self.workflow = DriverWorkflow(
            access=self.access,
            doors=self.doors,
            credentials=self.credentials,
            outbox=self.outbox,
            clock=self.clock,
            on_change=self._changed,
            sleep=self._sleep,
            backoff=Backoff(attempts=3, first=0.5, factor=2.0, cap=4.0, jitter=lambda: 1.0),
        )

    def _changed(self, state: RouteState) -> None:
        self.states.append(state)
        for watch in self.watchers:
            watch(state)

    async def _sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        await asyncio.sleep(0)

    async def ready(self) -> DriverWorkflow:
        await self.workflow.sign_in("demo", "demo-password")
        await self.workflow.load_route()
        return self.workflow

    def phases(self, stop_id: str) -> list[StopPhase]:
        seen: list[StopPhase] = []
        for state in self.states:
            stop = state.stops.get(stop_id)
            if stop is not None and (not seen or seen[-1] is not stop.phase):
                seen.append(stop.phase)
        return seen


@pytest.fixture
async def h(tmp_path: Path):
    harness = Harness(tmp_path)
    yield harness
    await harness.workflow.aclose()


async def test_sign_in_keeps_secrets_in_the_credential_store_and_registers_the_key(h: Harness) -> None:
    await h.workflow.sign_in("demo", "demo-password")
    assert h.credentials.get(REFRESH_TOKEN) == b"refresh-0"
    assert len(h.credentials.get(handheld_key_entry("demo")) or b"") == 32
    assert len(h.access.public_keys) == 1
    assert h.workflow.state.online and h.workflow.state.driver_name == "demo"


async def test_bad_password_raises_a_refusal_with_its_reason(h: Harness) -> None:
    with pytest.raises(AccessRefused) as caught:
        await h.workflow.sign_in("demo", "wrong")
    assert caught.value.reason == "invalid_credentials"
    assert h.credentials.get(REFRESH_TOKEN) is None


async def test_resume_uses_the_stored_refresh_token_and_the_same_handheld_key(
    h: Harness, tmp_path: Path
) -> None:
    assert await h.workflow.resume_session() is False  # nothing stored yet
    await h.workflow.sign_in("demo", "demo-password")
    fresh = Harness(tmp_path, h.outbox, restart_of=h)
    assert await fresh.workflow.resume_session() is True
    assert fresh.workflow.state.driver_name == "demo"
    assert h.credentials.get(REFRESH_TOKEN) == b"refresh-1"  # rotated
    assert h.access.public_keys[0] == h.access.public_keys[1]  # the same handheld key
    await fresh.workflow.aclose()


async def test_a_refused_refresh_token_is_forgotten(h: Harness) -> None:
    h.credentials.put(REFRESH_TOKEN, b"stale")
    h.credentials.put(DRIVER_ID, b"demo")
    assert await h.workflow.resume_session() is False
    assert h.credentials.get(REFRESH_TOKEN) is None and h.credentials.get(DRIVER_ID) is None


async def test_an_unreachable_service_on_resume_is_raised_not_mistaken_for_sign_out(h: Harness) -> None:
    h.credentials.put(REFRESH_TOKEN, b"kept")
    h.access.fail("resume", ServiceUnreachable("down"))
    with pytest.raises(ServiceUnreachable):
        await h.workflow.resume_session()
    assert h.credentials.get(REFRESH_TOKEN) == b"kept"


async def test_load_route_orders_stops_and_starts_at_the_first_open_one(h: Harness) -> None:
    state = await (await h.ready()).load_route()
    assert list(state.stops) == ["s1", "s2", "s3"]
    assert state.stops["s3"].phase is StopPhase.DELIVERED
    assert state.current_stop_id == "s1"


async def test_scan_verdicts(h: Harness) -> None:
    wf = await h.ready()
    matched = await wf.submit_scan(Scan("TRK0001", "camera", "CODE128"))
    assert (matched.kind, matched.package_id, matched.stop_id) == (ScanVerdictKind.MATCHED, "p1", "s1")
    assert wf.state.stops["s1"].phase is StopPhase.SCANNED
    again = await wf.submit_scan(Scan(" TRK0001\n", "wedge"))
    assert again.kind is ScanVerdictKind.ALREADY_SCANNED
    other = await wf.submit_scan(Scan("TRK0003", "manual"))
    assert other.kind is ScanVerdictKind.OTHER_STOP and other.stop_id == "s2"
    assert other.message == "This parcel belongs to stop 2 (7 Oak Ave)"
    done = await wf.submit_scan(Scan("TRK0004", "manual"))
    assert done.kind is ScanVerdictKind.OTHER_STOP and "already delivered" in done.message
    unknown = await wf.submit_scan(Scan("\x1b[2J[bold]x", "wedge"))
    assert unknown.kind is ScanVerdictKind.UNKNOWN and unknown.package_id is None
    second = await wf.submit_scan(Scan("TRK0002", "camera"))
    assert second.kind is ScanVerdictKind.MATCHED
    assert wf.state.stops["s1"].scanned_package_ids == ("p1", "p2")
    assert wf.state.current_stop_id == "s1"  # a scan never switches stop by itself


async def test_a_label_matches_by_whichever_of_its_symbols_is_a_parcel(h: Harness) -> None:
    wf = await h.ready()
    routing_first = await wf.submit_scan(Scan("420 12345 ROUTING", "camera", "QRCode", ("TRK0001",)))
    assert (routing_first.kind, routing_first.package_id) == (ScanVerdictKind.MATCHED, "p1")
    nothing = await wf.submit_scan(Scan("JUNK-1", "camera", "QRCode", ("JUNK-2",)))
    assert nothing.kind is ScanVerdictKind.UNKNOWN


async def test_a_symbol_of_the_current_stop_wins_over_one_of_another_stop(h: Harness) -> None:
    wf = await h.ready()  # at s1; TRK0003 is a parcel of s2 (a neighbouring label in view)
    verdict = await wf.submit_scan(Scan("TRK0003", "camera", "Code128", ("TRK0002",)))
    assert (verdict.kind, verdict.package_id) == (ScanVerdictKind.MATCHED, "p2")
    elsewhere = await wf.submit_scan(Scan("JUNK", "camera", "QRCode", ("TRK0003",)))
    assert (elsewhere.kind, elsewhere.stop_id) == (ScanVerdictKind.OTHER_STOP, "s2")


async def test_scan_before_the_route_is_loaded_is_unknown_not_a_crash(h: Harness) -> None:
    verdict = await h.workflow.submit_scan(Scan("TRK0001", "manual"))
    assert verdict.kind is ScanVerdictKind.UNKNOWN


async def test_a_whole_stop_walks_every_phase_and_prefers_the_strongest_door(h: Harness) -> None:
    wf = await h.ready()
    await wf.submit_scan(Scan("TRK0001", "camera"))
    outcome = await wf.unlock()
    assert outcome.accepted and outcome.door_id == "ELM-S"  # -40 dBm beats -70 dBm
    assert h.phases("s1") == [
        StopPhase.IDLE,
        StopPhase.SCANNED,
        StopPhase.FINDING_DOOR,
        StopPhase.REQUESTING_GRANT,
        StopPhase.CONNECTING,
        StopPhase.VERIFYING,
        StopPhase.UNLOCKED,
    ]
    stop = wf.state.stops["s1"]
    assert [d.door_id for d in stop.nearby] == ["ELM-S", "ELM-N"]
    assert stop.door_id == "ELM-S" and stop.notice is None
    assert stop.relock_at == pytest.approx(h.clock.mono + 5.0)
    assert stop.grant_id == h.access.grants[-1].grant_id
    request = h.access.grant_requests[-1]
    assert (request.stop_id, request.door_id, request.barcode) == ("s1", "ELM-S", "TRK0001")
    assert stop.seconds_to_open == pytest.approx(0.1)  # the fake link's two 50 ms steps
    assert {t.phase for t in stop.timings} >= {StopPhase.CONNECTING, StopPhase.VERIFYING}
    assert wf.state.outbox_size == 1  # the door's receipt, queued

    await wf.confirm_delivery()
    assert wf.state.stops["s1"].phase is StopPhase.DELIVERED
    assert wf.state.current_stop_id == "s2"
    assert await wf.sync_outbox() == 2
    assert h.access.receipts == [b"receipt-1"]
    [delivery] = h.access.deliveries.values()
    assert delivery.stop_id == "s1" and delivery.package_ids == ("p1",)
    assert delivery.grant_id == stop.grant_id
    assert delivery.delivered_at.timestamp() == pytest.approx(h.clock.wall)
    assert wf.state.outbox_size == 0


async def test_the_driver_can_pick_a_door_and_skip_finding(h: Harness) -> None:
    wf = await h.ready()
    await wf.submit_scan(Scan("TRK0002", "manual"))
    outcome = await wf.unlock("ELM-N")
    assert outcome.accepted and outcome.door_id == "ELM-N"
    assert StopPhase.FINDING_DOOR not in h.phases("s1")


async def test_a_door_refusal_keeps_its_receipt_and_names_the_other_door(h: Harness) -> None:
    wf = await h.ready()
    await wf.submit_scan(Scan("TRK0001", "manual"))
    h.doors.outcomes.append(DoorOutcome("ELM-S", False, "wrong_door", b"receipt-refused"))
    outcome = await wf.unlock()
    assert not outcome.accepted
    stop = wf.state.stops["s1"]
    assert stop.phase is StopPhase.SCANNED
    assert stop.notice is not None and stop.notice.reason == "wrong_door"
    assert "North entrance" in stop.notice.next_action
    assert [i.payload for i in h.outbox.items()] == [b"receipt-refused"]
    assert (await wf.unlock()).accepted  # and the driver can simply try again


async def test_the_door_upkeep_rides_to_the_link_and_the_backlog_into_the_outbox(h: Harness) -> None:
    wf = await h.ready()
    await wf.submit_scan(Scan("TRK0001", "manual"))
    h.access.upkeep = DoorUpkeep(door_id="ELM-S", statements=(b"signed statement",), receipts_through=3)
    backlog = (b"receipt-4", b"receipt-5")
    h.doors.outcomes.append(DoorOutcome("ELM-S", True, "ok", b"receipt-7", backlog=backlog))
    assert (await wf.unlock()).accepted
    assert h.doors.upkeeps == [h.access.upkeep]
    assert [i.payload for i in h.outbox.items("pending")] == [b"receipt-7", b"receipt-4", b"receipt-5"]


async def test_the_relock_countdown_follows_the_door_or_is_absent(h: Harness) -> None:
    wf = await h.ready()
    await wf.submit_scan(Scan("TRK0001", "manual"))
    h.doors.outcomes.append(DoorOutcome("ELM-S", True, "ok", b"receipt-open", open_seconds=12))
    await wf.unlock()
    assert wf.state.stops["s1"].relock_at == pytest.approx(h.clock.mono + 12)
    await wf.submit_scan(Scan("TRK0001", "manual"))
    h.doors.outcomes.append(DoorOutcome("ELM-S", True, "ok", b"receipt-old-door"))  # a door that does not say
    await wf.unlock()
    assert wf.state.stops["s1"].phase is StopPhase.UNLOCKED and wf.state.stops["s1"].relock_at is None


async def test_no_door_in_range(h: Harness) -> None:
    wf = await h.ready()
    h.doors.nearby = []
    await wf.submit_scan(Scan("TRK0001", "manual"))
    outcome = await wf.unlock()
    assert (outcome.accepted, outcome.reason) == (False, "door_not_found")
    notice = wf.state.stops["s1"].notice
    assert notice is not None and "closer" in notice.next_action
    assert h.access.grant_requests == []  # no grant wasted on a door nobody can reach


async def test_a_dropped_link_is_a_notice_not_an_exception(h: Harness) -> None:
    wf = await h.ready()
    await wf.submit_scan(Scan("TRK0001", "manual"))
    h.doors.outcomes.append(DoorUnreachable("door_link_lost", "disconnected mid-write"))
    outcome = await wf.unlock()
    assert outcome.reason == "door_link_lost"
    assert wf.state.stops["s1"].phase is StopPhase.SCANNED
    assert wf.state.outbox_size == 0


async def test_grant_requests_retry_with_backoff_and_say_so(h: Harness) -> None:
    wf = await h.ready()
    await wf.submit_scan(Scan("TRK0001", "manual"))
    h.access.fail("request_grant", ServiceUnreachable("timeout"), ServiceUnreachable("503"))
    outcome = await wf.unlock()
    assert outcome.accepted
    assert h.sleeps[:2] == [0.5, 1.0]
    retrying = [s.stops["s1"].notice for s in h.states if s.stops.get("s1") and s.stops["s1"].notice]
    assert retrying and all(n.retrying and n.reason == "service_unreachable" for n in retrying)
    assert "Retrying" in retrying[0].next_action
    assert wf.state.online and wf.state.stops["s1"].notice is None


async def test_grant_retries_give_up_after_the_last_attempt(h: Harness) -> None:
    wf = await h.ready()
    await wf.submit_scan(Scan("TRK0001", "manual"))
    h.access.fail("request_grant", *(ServiceUnreachable("down") for _ in range(3)))
    outcome = await wf.unlock()
    assert (outcome.accepted, outcome.reason) == (False, "service_unreachable")
    assert h.access.calls.count("request_grant") == 3
    notice = wf.state.stops["s1"].notice
    assert notice is not None and not notice.retrying
    assert wf.state.online is False


async def test_a_refusal_from_the_service_is_not_retried(h: Harness) -> None:
    wf = await h.ready()
    await wf.submit_scan(Scan("TRK0001", "manual"))
    h.access.fail("request_grant", AccessRefused("outside_delivery_window"))
    outcome = await wf.unlock()
    assert outcome.reason == "outside_delivery_window"
    assert h.access.calls.count("request_grant") == 1
    assert h.doors.unlocked == []


async def test_actions_out_of_order_explain_what_to_do(h: Harness) -> None:
    wf = await h.ready()
    outcome = await wf.unlock()
    assert outcome.reason == "no_scan"
    await wf.confirm_delivery()
    notice = wf.state.stops["s1"].notice
    assert notice is not None and notice.reason == "not_unlocked"
    assert wf.state.stops["s1"].phase is StopPhase.IDLE


async def test_select_stop_refuses_unknown_ids(h: Harness) -> None:
    wf = await h.ready()
    wf.select_stop("s2")
    assert wf.state.current_stop_id == "s2"
    with pytest.raises(WorkflowError) as caught:
        wf.select_stop("nope")
    assert caught.value.reason == "not_found"


class RecordingOutbox(SqliteOutbox):
    def __init__(self, path: Path, log: list[str]) -> None:
        super().__init__(path)
        self.log = log

    def put(self, kind: str, key: str, payload: bytes, owner: OutboxOwner) -> None:
        super().put(kind, key, payload, owner)
        self.log.append(f"put {kind}")


class CountingOutbox(SqliteOutbox):
    size_calls = 0

    def size(self) -> int:
        self.size_calls += 1
        return super().size()


async def test_the_outbox_is_counted_when_it_changes_not_on_every_state_change(tmp_path: Path) -> None:
    outbox = CountingOutbox(tmp_path / "o.db")
    h = Harness(tmp_path, outbox)
    wf = await h.ready()
    outbox.size_calls, before = 0, len(h.states)
    await wf.submit_scan(Scan("TRK0001", "manual"))
    await wf.unlock()  # a scan and a whole unlock: many state changes, one receipt queued
    assert len(h.states) - before >= 6
    assert outbox.size_calls == 1 and wf.state.outbox_size == 1
    await wf.aclose()


async def test_receipts_and_deliveries_are_on_disk_before_the_state_moves_on(tmp_path: Path) -> None:
    log: list[str] = []
    h = Harness(tmp_path, RecordingOutbox(tmp_path / "o.db", log))
    h.watchers.append(
        lambda state: log.append(f"phase {state.stops['s1'].phase}" if "s1" in state.stops else "route")
    )
    wf = await h.ready()
    await wf.submit_scan(Scan("TRK0001", "manual"))
    await wf.unlock()
    await wf.confirm_delivery()
    await wf.aclose()
    assert log.index("put receipt") < log.index("phase unlocked")
    assert log.index("put delivery") < log.index("phase delivered")


async def test_a_new_workflow_on_the_same_outbox_file_sends_what_the_old_one_queued(tmp_path: Path) -> None:
    first = Harness(tmp_path)
    wf = await first.ready()
    await wf.submit_scan(Scan("TRK0001", "manual"))
    first.access.fail("upload_receipts", *(ServiceUnreachable("offline") for _ in range(50)))
    first.access.fail("confirm_delivery", *(ServiceUnreachable("offline") for _ in range(50)))
    await wf.unlock()
    await wf.confirm_delivery()
    await wf.aclose()  # the app is killed: nothing was sent
    assert first.access.receipts == [] and first.access.deliveries == {}

    first.access.failures.clear()  # the service is back
    second = Harness(tmp_path, SqliteOutbox(tmp_path / "outbox.sqlite3"), restart_of=first)
    assert second.workflow.state.outbox_size == 2
    assert await second.workflow.sync_outbox() == 0  # nobody signed in: nothing goes out as nobody
    await second.ready()  # the same driver on the same handheld (its key is in the keyring)
    assert second.access.receipts == [b"receipt-1"]
    [delivery] = second.access.deliveries.values()
    assert delivery.stop_id == "s1"
    assert second.workflow.state.outbox_size == 0
    await second.workflow.aclose()


async def test_loading_the_route_sends_what_a_killed_run_queued_before_asking_for_it(
    tmp_path: Path,
) -> None:
    first = Harness(tmp_path)
    wf = await first.ready()
    await wf.submit_scan(Scan("TRK0001", "manual"))
    first.access.fail("confirm_delivery", *(ServiceUnreachable("offline") for _ in range(50)))
    await wf.unlock()
    await wf.confirm_delivery()
    await wf.aclose()

    first.access.failures.clear()
    second = Harness(tmp_path, SqliteOutbox(tmp_path / "outbox.sqlite3"), restart_of=first)
    await second.ready()
    calls = second.access.calls
    assert calls.index("confirm_delivery") < len(calls) - 1 - calls[::-1].index("today_route")
    assert second.workflow.state.outbox_size == 0
    await second.workflow.aclose()


async def test_background_sync_drains_the_outbox_once_the_service_is_back(h: Harness) -> None:
    drained = asyncio.Event()

    def watch(state: RouteState) -> None:
        if state.outbox_size == 0 and state.online:
            drained.set()

    h.watchers.append(watch)
    wf = await h.ready()
    await wf.submit_scan(Scan("TRK0001", "manual"))
    h.access.fail("upload_receipts", ServiceUnreachable("down"), ServiceUnreachable("down"))
    await wf.unlock()
    drained.clear()
    await asyncio.wait_for(drained.wait(), timeout=10)
    assert h.access.receipts == [b"receipt-1"]
    assert h.sleeps[-2:] == [0.5, 1.0]  # it backed off while the service was down
    said = [s.notice for s in h.states if s.notice is not None]
    assert said and all(n.retrying and n.reason == "service_unreachable" for n in said)
    assert wf.state.notice is None  # cleared once the outbox drained


async def test_a_permanently_refused_delivery_is_held_with_its_reason_never_deleted(h: Harness) -> None:
    wf = await h.ready()
    await wf.submit_scan(Scan("TRK0001", "manual"))
    await wf.unlock()
    h.access.fail("confirm_delivery", AccessRefused("stop_completed"))
    await wf.aclose()
    await wf.confirm_delivery()
    await wf.aclose()
    await wf.sync_outbox()
    assert wf.state.outbox_size == 1  # kept
    assert [(item.kind, item.reason) for item in wf.state.held] == [("delivery", "stop_completed")]
    assert wf.state.notice is not None and wf.state.notice.reason == "stop_completed"
    assert await wf.sync_outbox() == 0
    assert h.access.calls.count("confirm_delivery") == 1  # held: not resent on its own


async def test_uploading_the_same_items_twice_is_harmless(h: Harness) -> None:
    wf = await h.ready()
    await wf.submit_scan(Scan("TRK0001", "manual"))
    await wf.unlock()
    await wf.aclose()
    items = h.outbox.items()
    await wf.sync_outbox()
    for item in items:  # as if the app died between the upload and mark_sent
        assert item.owner is not None
        h.outbox.put(item.kind, item.key, item.payload, item.owner)
    await wf.sync_outbox()
    assert h.access.receipts == [b"receipt-1"]


async def test_a_cancelled_unlock_does_not_leave_the_stop_busy(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    wf = await h.ready()
    await wf.submit_scan(Scan("TRK0001", "manual"))
    started = asyncio.Event()

    async def hang(*_: object) -> list[NearbyDoor]:
        started.set()
        await asyncio.Event().wait()
        return []

    monkeypatch.setattr(h.doors, "find_doors", hang)
    task = asyncio.create_task(wf.unlock())
    await started.wait()
    assert wf.state.stops["s1"].phase is StopPhase.FINDING_DOOR
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert phase_of(wf.state, "s1") is StopPhase.SCANNED
    assert (await wf.unlock("ELM-N")).accepted


async def test_a_refused_upload_keeps_the_items_and_says_why(h: Harness) -> None:
    wf = await h.ready()
    await wf.submit_scan(Scan("TRK0001", "manual"))
    h.access.fail("upload_receipts", *(AccessRefused("not_authenticated") for _ in range(3)))
    await wf.unlock()
    await wf.aclose()
    assert await wf.sync_outbox() == 0
    assert wf.state.outbox_size == 1
    assert wf.state.notice is not None and wf.state.notice.reason == "not_authenticated"
    assert wf.state.online


async def test_the_door_radio_state_follows_whether_the_radio_answered(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    wf = await h.ready()
    assert wf.state.radio_available is None  # not used yet: the header says nothing
    await wf.find_doors()
    assert wf.state.radio_available is True

    async def no_radio(door_ids: Sequence[str], timeout: float) -> list[NearbyDoor]:
        raise DoorUnreachable(ClientReason.RADIO_UNAVAILABLE, "no controller answers")

    monkeypatch.setattr(h.doors, "find_doors", no_radio)
    assert await wf.find_doors() == ()
    assert wf.state.radio_available is False
    notice = wf.state.stops["s1"].notice
    assert notice is not None and notice.reason == "radio_unavailable"


async def test_find_doors_lets_the_driver_pick(h: Harness) -> None:
    wf = await h.ready()
    assert [d.door_id for d in await wf.find_doors()] == ["ELM-S", "ELM-N"]
    assert wf.state.stops["s1"].nearby == (NearbyDoor("ELM-S", -40), NearbyDoor("ELM-N", -70))
    h.doors.nearby = []
    assert await wf.find_doors() == ()
    notice = wf.state.stops["s1"].notice
    assert notice is not None and notice.reason == "door_not_found"


class BrokenOutbox(SqliteOutbox):
    def put(self, kind: str, key: str, payload: bytes, owner: OutboxOwner) -> None:
        raise WorkflowError("outbox_failed", "disk full")


async def test_a_failing_outbox_is_said_and_never_crashes_an_unlock(tmp_path: Path) -> None:
    h = Harness(tmp_path, BrokenOutbox(tmp_path / "o.db"))
    wf = await h.ready()
    await wf.submit_scan(Scan("TRK0001", "manual"))
    outcome = await wf.unlock()
    assert outcome.accepted
    stop = wf.state.stops["s1"]
    assert stop.phase is StopPhase.UNLOCKED
    assert stop.notice is not None and stop.notice.reason == "outbox_failed"
    await wf.confirm_delivery()
    stop = wf.state.stops["s1"]
    assert stop.phase is StopPhase.UNLOCKED  # not marked delivered: the confirmation is not safe yet
    assert stop.notice is not None and stop.notice.reason == "outbox_failed"
    await wf.aclose()


async def test_loading_the_route_retries_an_unreachable_service(h: Harness) -> None:
    await h.workflow.sign_in("demo", "demo-password")
    h.access.fail("today_route", ServiceUnreachable("timeout"))
    state = await h.workflow.load_route()
    assert state.current_stop_id == "s1" and state.notice is None
    assert h.sleeps[-1] == 0.5
    assert any(s.notice is not None and s.notice.retrying for s in h.states)
    h.access.fail("today_route", *(ServiceUnreachable("down") for _ in range(3)))
    with pytest.raises(ServiceUnreachable):
        await h.workflow.load_route()
