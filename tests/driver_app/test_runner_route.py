"""The headless route runner over the workflow with fake service and doors, real label images."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from driver_app.adapters.credentials_memory import MemoryCredentialStore
from driver_app.adapters.outbox_sqlite import SqliteOutbox
from driver_app.core.errors import AccessRefused, DoorUnreachable
from driver_app.core.ports import DoorOutcome, NearbyDoor
from driver_app.core.workflow import DriverWorkflow
from driver_app.runner.report import Attempt, StopResult, percentile, summary_line, write_junit
from driver_app.runner.route_runner import RunPlan, run_route
from tests.core_fakes import FakeAccess, FakeClock, FakeDoors
from tests.label_images import render_labels

BARCODES = {"p1": "TRK0001", "p2": "TRK0002", "p3": "TRK0003", "p4": "TRK0004"}


@pytest.fixture
def labels(tmp_path: Path) -> Path:
    return render_labels(tmp_path / "labels", BARCODES)


async def _run(
    tmp_path: Path,
    labels: Path,
    expectations: Mapping[str, str],
    doors_setup: Callable[[FakeDoors], None] | None = None,
    access_setup: Callable[[FakeAccess], None] | None = None,
) -> tuple[list[StopResult], list[str], FakeAccess]:
    clock = FakeClock()
    access = FakeAccess(clock)
    if access_setup:
        access_setup(access)
    doors = FakeDoors(clock, [NearbyDoor("ELM-N", -70), NearbyDoor("ELM-S", -40), NearbyDoor("OAK-1", -60)])
    if doors_setup:
        doors_setup(doors)
    workflow = DriverWorkflow(
        access=access,
        doors=doors,
        credentials=MemoryCredentialStore(),
        outbox=SqliteOutbox(tmp_path / "outbox.db"),
        clock=clock,
    )
    lines: list[str] = []
    results = await run_route(
        workflow, RunPlan("demo", "demo-password", labels, expectations), clock=clock, emit=lines.append
    )
    await workflow.aclose()
    return results, lines, access


async def test_every_open_stop_is_scanned_unlocked_and_delivered(tmp_path: Path, labels: Path) -> None:
    results, lines, access = await _run(tmp_path, labels, {})
    run = [(r.stop_id, r.outcome, r.passed) for r in results[:2]]
    assert run == [("s1", "delivered", True), ("s2", "delivered", True)]
    assert results[2].skipped == "already delivered before this run"  # still reported: stable counts
    assert {d.stop_id: d.package_ids for d in access.deliveries.values()} == {
        "s1": ("p1", "p2"),
        "s2": ("p3",),
    }
    assert len(access.receipts) == 2
    assert lines[0] == "signing in as demo…"  # progress before anything slow
    assert lines[1].startswith("route ") and lines[1].endswith(": 3 stops, 4 packages")
    assert lines[2].startswith("PASS s1 #1: expected delivered, got delivered [ELM-S delivered] scan→open ")
    assert lines[-2] == "outbox: 0 left after sync"
    assert lines[4] == "SKIP s3 #3: already delivered before this run"
    assert lines[-1].startswith("3/4 expectations met, 1 skipped; scan→open p50 100 ms, p95 100 ms")


async def test_confirmations_the_service_refuses_are_listed_as_held_with_their_reason(
    tmp_path: Path, labels: Path
) -> None:
    def refuse_deliveries(access: FakeAccess) -> None:
        access.fail("confirm_delivery", *(AccessRefused("already_delivered") for _ in range(2)))

    _, lines, access = await _run(tmp_path, labels, {}, access_setup=refuse_deliveries)
    assert access.deliveries == {}
    outbox_line = lines[-2]
    assert outbox_line.startswith("outbox: 2 left after sync, 2 held: delivery ")
    assert outbox_line.count("(already_delivered)") == 2


async def test_refused_doors_are_tried_in_turn_and_judged_per_package(tmp_path: Path, labels: Path) -> None:
    def jam_three(doors: FakeDoors) -> None:
        for receipt in (b"j1", b"j2", b"j3"):
            doors.outcomes.append(DoorOutcome("?", False, "door_jammed", receipt))

    expectations = {"p1": "door_jammed", "p2": "door_jammed"}
    results, lines, access = await _run(tmp_path, labels, expectations, jam_three)
    s1, s2, _ = results
    assert [(a.door_id, a.outcome) for a in s1.attempts] == [
        ("ELM-S", "door_jammed"),
        ("ELM-N", "door_jammed"),
    ]
    assert s1.passed and s1.outcome == "door_jammed"
    assert [(a.door_id, a.outcome) for a in s2.attempts] == [("OAK-1", "door_jammed")] and not s2.passed
    assert lines[2].startswith(
        "PASS s1 #1: expected door_jammed, got door_jammed, door_jammed [ELM-S door_jammed,"
    )
    assert lines[3].startswith("FAIL s2 #2: expected delivered, got door_jammed [OAK-1 door_jammed]")
    assert "did not open" in lines[3]
    assert access.deliveries == {}
    assert sorted(access.receipts) == [b"j1", b"j2", b"j3"]  # refusals are relayed too


async def test_a_dropped_link_gets_a_second_press(tmp_path: Path, labels: Path) -> None:
    def drop_once(doors: FakeDoors) -> None:
        doors.outcomes.append(DoorUnreachable("door_link_lost", "dropped mid-write", retryable=True))

    results, _, _ = await _run(tmp_path, labels, {}, drop_once)
    assert [(a.door_id, a.outcome) for a in results[0].attempts] == [("ELM-S", "delivered")]


async def test_no_door_in_range_is_an_attempt_that_says_so(tmp_path: Path, labels: Path) -> None:
    def silence(doors: FakeDoors) -> None:
        doors.nearby = []

    expectations = {"p1": "door_not_found", "p2": "door_not_found"}
    results, lines, _ = await _run(tmp_path, labels, expectations, silence)
    assert results[0].passed and results[0].outcome == "door_not_found"
    assert "No door of this stop is in range" in lines[2]


async def test_a_missing_label_is_reported_not_crashed(tmp_path: Path, labels: Path) -> None:
    (labels / "p3.png").unlink()
    results, _, _ = await _run(tmp_path, labels, {})
    assert results[1].outcome == "label_unreadable" and not results[1].passed


def _result(stop_id: str, outcome: str, seconds: float | None, **changes: Any) -> StopResult:
    values: dict[str, Any] = {
        "stop_id": stop_id,
        "label": "#1",
        "expected": (("P1", "delivered"),),
        "attempts": (Attempt("D-1", outcome),),
        "seconds_to_open": seconds,
        "elapsed": 0.5,
        "detail": "a <detail> \x1b",
    }
    values.update(changes)
    return StopResult(**values)


def test_a_stop_expecting_two_outcomes_needs_both_or_says_why_not() -> None:
    expected = (("P1", "door_jammed"), ("P2", "delivered"))
    attempts = (Attempt("A", "door_jammed"), Attempt("B", "delivered"))
    both = _result("S", "", None, expected=expected, attempts=attempts)
    assert [c.verdict for c in both.cases] == ["pass", "pass"]
    early = _result("S", "", None, expected=expected, attempts=(Attempt("B", "delivered"),))
    assert [c.verdict for c in early.cases] == ["skip", "pass"] and early.passed
    assert early.cases[0].message == "not reached: the stop was delivered through B first"
    attempts = (Attempt("A", "expired"), Attempt("B", "delivered"))
    wrong = _result("S", "", None, expected=expected, attempts=attempts)
    assert [c.verdict for c in wrong.cases] == ["fail", "fail"]
    assert wrong.cases[0].message == "expected door_jammed, got expired, delivered"


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 21)]
    assert percentile(values, 0.5) == 10.0 and percentile(values, 0.95) == 19.0
    assert percentile([3.0], 0.95) == 3.0 and percentile([], 0.5) is None
    assert "p50 -" in summary_line([])


def test_junit_report_has_a_case_per_package_and_skips_delivered_stops(tmp_path: Path) -> None:
    path = tmp_path / "out" / "junit.xml"
    done = _result("S0", "", None, attempts=(), skipped="already delivered before this run")
    write_junit([done, _result("S1", "delivered", 0.12), _result("S2", "door_jammed", None)], path)
    suite = ET.parse(path).getroot()
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("3", "1", "1")
    cases = {case.get("classname"): case for case in suite}
    skipped = cases["run-route.S0"].find("skipped")
    assert skipped is not None and skipped.get("message") == "already delivered before this run"
    assert cases["run-route.S1"].get("name") == "P1 expects delivered"
    assert cases["run-route.S1"].find("failure") is None
    failure = cases["run-route.S2"].find("failure")
    assert failure is not None and failure.get("message") == "expected delivered, got door_jammed"
    assert failure.text == "a <detail> \\x1b"  # outside text escaped, XML-safe
