"""What `mock-building up` shows while it runs: a rich live table, or plain log lines when headless.

Both read the same `BuildingView` snapshot. Text from outside (scenario names, reasons, fault
values) is shown literally: it never goes through rich markup and control characters are escaped.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TextIO

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

__all__ = [
    "AlertLine",
    "AuditLine",
    "BuildingView",
    "DoorStatus",
    "HeadlessLog",
    "literal",
    "make_console",
    "render_view",
]

AUDIT_LINES = 10


@dataclass(frozen=True)
class DoorStatus:
    """One door as the operator sees it."""

    door_id: str
    building: str
    name: str
    locked: bool
    relock_in_s: float | None
    last_outcome: str | None
    last_reason: str | None
    faults: tuple[tuple[str, object], ...]
    links: int = 0
    """BLE connections open right now (a driver app is talking to the door)."""
    links_dropped: int = 0
    """Links the door cut (silent, too long, too many attempts, evicted) since it started."""
    door_open: bool = False
    """The door-position sensor: the leaf is open (forced, held open, or someone walking in)."""


@dataclass(frozen=True)
class AuditLine:
    """One audit event, already stripped to what the feed publishes."""

    id: int
    at: str
    building_id: str
    door_id: str
    stop_id: str | None
    carrier_id: str | None
    driver_ref: str | None
    outcome: str
    reason: str


@dataclass(frozen=True)
class AlertLine:
    """One open building alert (the manager has not acknowledged it yet)."""

    id: int
    raised_at: str
    building_id: str
    door_id: str | None
    kind: str
    severity: str


@dataclass(frozen=True)
class BuildingView:
    title: str
    doors: tuple[DoorStatus, ...]
    audit: tuple[AuditLine, ...]
    alerts: tuple[AlertLine, ...] = ()
    """Open alerts, newest first."""
    service_faults: tuple[tuple[str, object], ...] = ()
    """Active access-service faults (latency, error rate, down); empty for a healthy service."""
    database_reachable: bool = True
    """False while the service's database cannot be reached: `audit` and `alerts` are the last seen."""


def literal(value: object) -> str:
    """`value` as printable text: control characters become visible escapes, nothing is interpreted."""
    text = str(value)
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def _faults(faults: Sequence[tuple[str, object]]) -> str:
    return ", ".join(name if value is True else f"{name}={value}" for name, value in faults) or "-"


def _state(door: DoorStatus) -> Text:
    if door.locked and door.door_open:  # the sensor sees a bolted door open: forced or propped
        return Text("locked, door OPEN", style="bold red")
    if door.locked:
        return Text("locked", style="green")
    countdown = f" ({door.relock_in_s:.0f}s)" if door.relock_in_s is not None else ""
    return Text(f"OPEN{countdown}", style="bold yellow")


def _service_line(view: BuildingView) -> Text:
    if not view.database_reachable:
        return Text(_UNREACHABLE, style="bold red")
    if not view.service_faults:
        return Text("access service: no faults")
    return Text.assemble("access service faults: ", (literal(_faults(view.service_faults)), "bold red"))


_UNREACHABLE = (
    "access service: its database cannot be reached (requests answered 503); audit and alerts as last seen"
)


def render_view(view: BuildingView) -> RenderableType:
    """The live view: the service's faults, every door, open alerts (if any), the last audit events.

    Audit events newest first, so a terminal too short for everything crops the oldest, never the newest.
    """
    doors = Table(title=Text(literal(view.title)), expand=True, title_justify="left")
    for column in ("door", "building", "name", "state", "links", "last outcome", "reason", "faults"):
        doors.add_column(column, overflow="fold")
    for door in view.doors:
        doors.add_row(
            Text(literal(door.door_id)),
            Text(literal(door.building)),
            Text(literal(door.name)),
            _state(door),
            Text(str(door.links) + (f" ({door.links_dropped} cut)" if door.links_dropped else "")),
            Text(literal(door.last_outcome or "-")),
            Text(literal(door.last_reason or "-")),
            Text(literal(_faults(door.faults)), style="red" if door.faults else ""),
        )
    audit = Table(title=Text("audit feed, newest first"), expand=True, title_justify="left")
    for column in ("at", "building", "door", "stop", "carrier", "driver", "outcome", "reason"):
        audit.add_column(column, overflow="fold")
    for line in reversed(view.audit[-AUDIT_LINES:]):
        audit.add_row(
            *(
                Text(literal(v or "-"))
                for v in (
                    line.at,
                    line.building_id,
                    line.door_id,
                    line.stop_id,
                    line.carrier_id,
                    line.driver_ref,
                    line.outcome,
                    line.reason,
                )
            )
        )
    if not view.alerts:
        return Group(_service_line(view), doors, audit)
    alerts = Table(
        title=Text(f"OPEN ALERTS ({len(view.alerts)})", style="bold red"), expand=True, title_justify="left"
    )
    for column in ("raised", "building", "door", "alert", "severity"):
        alerts.add_column(column, overflow="fold")
    for alert in view.alerts[:AUDIT_LINES]:
        alerts.add_row(
            *(
                Text(literal(v or "-"))
                for v in (alert.raised_at, alert.building_id, alert.door_id, alert.kind)
            ),
            Text(literal(alert.severity), style="bold red" if alert.severity == "critical" else "yellow"),
        )
    return Group(_service_line(view), doors, alerts, audit)


class HeadlessLog:
    """Plain lines for scripts and CI: one per door change and per new audit event."""

    def __init__(self, out: TextIO = sys.stdout) -> None:
        self._out = out
        self._doors: dict[str, tuple[object, ...]] = {}
        self._last_audit = 0
        self._service_faults: tuple[tuple[str, object], ...] | None = None
        self._alerts_seen: set[int] = set()
        self._database_reachable = True

    def update(self, view: BuildingView) -> None:
        if view.database_reachable != self._database_reachable:
            self._line(
                _UNREACHABLE if not view.database_reachable else "access service: its database is back"
            )
            self._database_reachable = view.database_reachable
        if view.service_faults != self._service_faults:
            if self._service_faults is not None or view.service_faults:
                self._line(f"service faults={_faults(view.service_faults)}")
            self._service_faults = view.service_faults
        for door in view.doors:
            key = (door.locked, door.last_outcome, door.last_reason, door.faults)
            if self._doors.get(door.door_id) != key:
                if door.door_id in self._doors:
                    self._line(
                        f"door {door.door_id} {'locked' if door.locked else 'open'}"
                        f" last={door.last_outcome or '-'} reason={door.last_reason or '-'}"
                        f" faults={_faults(door.faults)}"
                    )
                self._doors[door.door_id] = key
        for line in view.audit:
            if line.id > self._last_audit:
                self._last_audit = line.id
                self._line(
                    f"audit {line.at} building={line.building_id} door={line.door_id} stop={line.stop_id or '-'}"
                    f" carrier={line.carrier_id or '-'} driver={line.driver_ref or '-'}"
                    f" {line.outcome} {line.reason}"
                )

        for alert in reversed(view.alerts):
            if alert.id not in self._alerts_seen:
                self._alerts_seen.add(alert.id)
                self._line(
                    f"ALERT {alert.raised_at} building={alert.building_id} door={alert.door_id or '-'}"
                    f" {alert.kind} severity={alert.severity}"
                )

    def _line(self, text: str) -> None:
        self._out.write(literal(text) + "\n")
        self._out.flush()


def make_console(out: TextIO = sys.stdout) -> Console:
    """A console that never interprets markup or emoji codes in what it is given."""
    return Console(file=out, markup=False, emoji=False, highlight=False)
