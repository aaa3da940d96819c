"""Walks today's route with the real workflow and adapters, no TUI: the QA path through the product.

Per stop: select it, read every package's label image through the camera path (frame source →
scan pipeline → confirmation) or, without label images, as a keyboard-wedge scanner reads the
printed barcode, submit the reads, listen for the stop's doors and unlock the
strongest; on a refusal try the next door, as a driver would; confirm the delivery when a door
opened. Every attempt's outcome is compared with what the scenario expects.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from driver_app.adapters.camera_source import FrameBarcodeSource, still_frames
from driver_app.adapters.scanning.errors import ScanError
from driver_app.core.display_text import printable
from driver_app.core.errors import ClientReason
from driver_app.core.ports import Clock, Scan, ScanSource
from driver_app.core.state import ScanVerdictKind, StopPhase
from driver_app.core.workflow import DriverWorkflow
from driver_app.runner.expectations import DELIVERED, expected_outcome
from driver_app.runner.report import Attempt, StopResult, stop_line, summary_line

if TYPE_CHECKING:
    from protocol.api import Stop

#: Outcomes the runner itself reports when a stop never reached the door.
LABEL_MISSING = "label_unreadable"
SCAN_MISMATCH = "scan_not_for_stop"
#: Extra presses of unlock after the link to a door dropped mid-request.
LINK_RETRIES = 1


@dataclass(frozen=True)
class RunPlan:
    driver_id: str
    password: str
    labels: Path | None  # a folder of `<package_id>.png`; None: the handheld's built-in scanner
    expectations: Mapping[str, str]  # package id → "delivered" or a reason code
    scan_timeout: float = 5.0


async def run_route(
    workflow: DriverWorkflow,
    plan: RunPlan,
    *,
    clock: Clock,
    emit: Callable[[str], None],
    on_stop: Callable[[StopResult], None] | None = None,
) -> list[StopResult]:
    """Raises `WorkflowError` only when signing in or loading the route fails.

    A stop delivered before this run is reported as skipped, so a re-run has the same cases.
    """
    emit(f"signing in as {plan.driver_id}…")
    await workflow.sign_in(plan.driver_id, plan.password)
    state = await workflow.load_route()
    assert state.route is not None
    stops = sorted(state.route.stops, key=lambda s: s.sequence)
    emit(f"route {state.route.route_id}: {len(stops)} stops, {sum(len(s.packages) for s in stops)} packages")
    results = []
    for stop in stops:
        label = f"#{stop.sequence}"
        if workflow.state.stops[stop.stop_id].phase is StopPhase.DELIVERED:
            result = StopResult(
                stop.stop_id,
                label,
                _expected(plan, stop),
                (),
                None,
                0.0,
                skipped="already delivered before this run",
            )
        else:
            result = await _run_stop(workflow, plan, stop.stop_id, label, clock)
        emit(stop_line(result))
        if on_stop is not None:
            on_stop(result)
        results.append(result)
    await workflow.sync_outbox()
    emit(_outbox_line(workflow))
    emit(summary_line(results))
    return results


def _expected(plan: RunPlan, stop: Stop) -> tuple[tuple[str, str], ...]:
    return tuple((p.package_id, expected_outcome(plan.expectations, p.package_id)) for p in stop.packages)


async def _run_stop(
    workflow: DriverWorkflow, plan: RunPlan, stop_id: str, label: str, clock: Clock
) -> StopResult:
    started = clock.monotonic()
    workflow.select_stop(stop_id)
    route = workflow.state.route
    assert route is not None
    stop = next(s for s in route.stops if s.stop_id == stop_id)
    attempts: list[Attempt] = []

    def finish(detail: str = "") -> StopResult:
        return StopResult(
            stop_id=stop_id,
            label=label,
            expected=_expected(plan, stop),
            attempts=tuple(attempts),
            seconds_to_open=workflow.state.stops[stop_id].seconds_to_open,
            elapsed=clock.monotonic() - started,
            detail=detail,
        )

    for package in stop.packages:
        if plan.labels is None:
            problem = await _scan_wedge(workflow, package.barcode)
        else:
            problem = await _scan_label(workflow, plan.labels, plan.scan_timeout, package.package_id)
        if problem is not None:
            attempts.append(Attempt("", problem[0]))
            return finish(problem[1])
    nearby = await workflow.find_doors()
    if not nearby:
        attempts.append(Attempt("", ClientReason.DOOR_NOT_FOUND))
        return finish(_notice_text(workflow, stop_id))
    # Like a driver: strongest door first; on a refusal try the building's next door; press
    # unlock once more when the link dropped (the notice says so).
    for door in nearby:
        for _ in range(1 + LINK_RETRIES):
            outcome = await workflow.unlock(door.door_id)
            if outcome.reason != ClientReason.DOOR_LINK_LOST:
                break
        if outcome.accepted:
            await workflow.confirm_delivery()
            attempts.append(Attempt(door.door_id, DELIVERED))
            return finish()
        attempts.append(Attempt(door.door_id, outcome.reason))
    return finish(_notice_text(workflow, stop_id))


def _outbox_line(workflow: DriverWorkflow) -> str:
    """What is left after the final sync; held items (refused, kept) are named with their reason."""
    state = workflow.state
    line = f"outbox: {state.outbox_size} left after sync"
    if state.outbox_waiting:
        line += f", {state.outbox_waiting} waiting for another driver"
    if state.held:
        held = "; ".join(f"{item.kind} {item.key} ({item.reason})" for item in state.held)
        line += f", {state.outbox_held} held: {held}"
    return printable(line)


def _notice_text(workflow: DriverWorkflow, stop_id: str) -> str:
    notice = workflow.state.stops[stop_id].notice
    return f"{notice.message} — {notice.next_action}" if notice else ""


async def _scan_wedge(workflow: DriverWorkflow, barcode: str) -> tuple[str, str] | None:
    """A keyboard-wedge read of the printed barcode (no image decoding: cheap enough for fleets)."""
    verdict = await workflow.submit_scan(Scan(barcode, ScanSource.WEDGE))
    if verdict.kind in (ScanVerdictKind.MATCHED, ScanVerdictKind.ALREADY_SCANNED):
        return None
    return SCAN_MISMATCH, verdict.message


async def _scan_label(
    workflow: DriverWorkflow, labels: Path, scan_timeout: float, package_id: str
) -> tuple[str, str] | None:
    """Read one label until a read matches this stop; (outcome, detail) when it cannot."""
    path = labels / f"{package_id}.png"
    try:
        source = FrameBarcodeSource(still_frames(path))
    except ScanError as err:
        return LABEL_MISSING, err.detail
    try:
        while (scan := await source.next_scan(scan_timeout)) is not None:
            verdict = await workflow.submit_scan(scan)
            if verdict.kind in (ScanVerdictKind.MATCHED, ScanVerdictKind.ALREADY_SCANNED):
                return None
            if verdict.kind is ScanVerdictKind.OTHER_STOP:
                return SCAN_MISMATCH, verdict.message
    finally:
        await source.close()
    return LABEL_MISSING, f"no barcode of {package_id} read from {path.name}"
