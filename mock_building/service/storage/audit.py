"""Audit events and building alerts: the feed a manager reads, and what the time-driven sweeps find.

Alerts are idempotent on their dedup key (a unique column): raising one twice, from one worker or
two, stores it once. A sweep's watermark only moves forward, whichever worker writes it last.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mock_building.service.storage.database import Executor, Row

__all__ = [
    "AlertRow",
    "AuditRow",
    "DueGap",
    "NewAlert",
    "NewAuditEvent",
    "RefusedReceipt",
    "SilentGrant",
    "acknowledge_alert",
    "add_alert",
    "add_event",
    "alert",
    "alert_building",
    "alerts_of",
    "door_feed",
    "feed_behind",
    "gaps_due",
    "grants_without_receipt",
    "move_sweep_watermark",
    "number_feed",
    "open_alerts",
    "refused_receipts",
    "sweep_watermark",
]


@dataclass(frozen=True)
class NewAuditEvent:
    at: str
    kind: str
    outcome: str
    reason: str
    building_id: str | None
    door_id: str | None
    stop_id: str | None
    carrier_id: str | None
    driver_ref: str | None
    grant_id: str | None


@dataclass(frozen=True)
class AuditRow:
    feed_seq: int
    """Its place in the building's feed: the cursor."""
    at: str
    building_id: str
    door_id: str
    stop_id: str | None
    carrier_id: str | None
    driver_ref: str | None
    outcome: str
    reason: str


@dataclass(frozen=True)
class NewAlert:
    kind: str
    severity: str
    building_id: str
    door_id: str | None
    grant_id: str | None
    carrier_id: str | None
    event_time: str | None
    raised_at: str
    evidence: str
    """A JSON object."""
    dedup_key: str


@dataclass(frozen=True)
class AlertRow:
    alert_id: int
    kind: str
    severity: str
    building_id: str
    door_id: str | None
    raised_at: str
    event_time: str | None
    evidence: str
    acknowledged_at: str | None
    acknowledged_by: str | None
    note: str | None


@dataclass(frozen=True)
class RefusedReceipt:
    """An alert that kept a receipt the service refused (its evidence holds what the receipt said)."""

    kind: str
    event_time: str
    door_id: str
    evidence: str


@dataclass(frozen=True)
class DueGap:
    """A receipt gap open long enough to be an alert, with its door's building."""

    door_id: str
    building_id: str
    first_seq: int
    last_seq: int
    open_since: str


@dataclass(frozen=True)
class SilentGrant:
    """A grant no stored receipt quotes."""

    grant_id: str
    building_id: str
    door_id: str
    driver_id: str
    carrier_id: str
    stop_id: str
    issued_at: str
    expires_at: str


async def add_event(db: Executor, event: NewAuditEvent) -> None:
    await db.execute(
        "INSERT INTO audit_events (at, kind, building_id, door_id, stop_id, carrier_id, driver_ref, outcome,"
        " reason, grant_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        event.at,
        event.kind,
        event.building_id,
        event.door_id,
        event.stop_id,
        event.carrier_id,
        event.driver_ref,
        event.outcome,
        event.reason,
        event.grant_id,
    )


async def feed_behind(db: Executor, building_id: str) -> bool:
    """Whether the building has committed events its feed has not numbered yet."""
    behind = await db.fetch_value(
        "SELECT 1 FROM audit_events WHERE building_id = $1 AND feed_seq IS NULL LIMIT 1", building_id
    )
    return behind is not None


async def number_feed(tx: Executor, building_id: str, *, at_most: int) -> int:
    """Number the building's oldest `at_most` committed events not numbered yet, after every number
    handed out before; how many it numbered.

    Readers do it (writers number nothing), under the building's `audit_feeds` row: an event whose
    transaction commits after a reader has paged past its id still gets a number after that page.
    """
    last = await tx.fetch_value(
        "INSERT INTO audit_feeds (building_id, last_seq) VALUES ($1, 0) ON CONFLICT (building_id)"
        " DO UPDATE SET last_seq = audit_feeds.last_seq RETURNING last_seq",
        building_id,
    )
    numbered = await tx.execute(
        "UPDATE audit_events SET feed_seq = CAST($2 AS BIGINT) + r.n FROM (SELECT id, ROW_NUMBER()"
        " OVER (ORDER BY id) AS n FROM audit_events WHERE building_id = $1 AND feed_seq IS NULL"
        " ORDER BY id LIMIT $3) AS r WHERE audit_events.id = r.id",
        building_id,
        last,
        at_most,
    )
    await tx.execute(
        "UPDATE audit_feeds SET last_seq = $2 WHERE building_id = $1", building_id, last + numbered
    )
    return numbered


async def door_feed(
    db: Executor, building_id: str, kinds_without_driver: tuple[str, str], *, after: int, limit: int
) -> list[AuditRow]:
    """A building's numbered events after `after` that name a door and either a driver or one of
    `kinds_without_driver`."""
    rows = await db.fetch_all(
        "SELECT feed_seq, at, building_id, door_id, stop_id, carrier_id, driver_ref, outcome, reason"
        " FROM audit_events WHERE building_id = $1 AND feed_seq > $2 AND door_id IS NOT NULL"
        " AND (driver_ref IS NOT NULL OR kind IN ($3, $4)) ORDER BY feed_seq LIMIT $5",
        building_id,
        after,
        *kinds_without_driver,
        limit,
    )
    return [AuditRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8]) for r in rows]


async def add_alert(db: Executor, new: NewAlert) -> bool:
    """Store the alert unless its dedup key is stored already; True when this call stored it."""
    added = await db.execute(
        "INSERT INTO alerts (kind, severity, building_id, door_id, grant_id, carrier_id, event_time, raised_at,"
        " evidence, dedup_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        " ON CONFLICT (dedup_key) DO NOTHING",
        new.kind,
        new.severity,
        new.building_id,
        new.door_id,
        new.grant_id,
        new.carrier_id,
        new.event_time,
        new.raised_at,
        new.evidence,
        new.dedup_key,
    )
    return added > 0


_ALERT_COLUMNS = (
    "id, kind, severity, building_id, door_id, raised_at, event_time, evidence, acknowledged_at,"
    " acknowledged_by, acknowledgement_note"
)


def _alert_row(r: Row) -> AlertRow:
    return AlertRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10])


_STATE_FILTER = {
    None: "",
    False: " AND acknowledged_at IS NULL",
    True: " AND acknowledged_at IS NOT NULL",
}


async def alerts_of(
    db: Executor, building_id: str, *, acknowledged: bool | None, limit: int
) -> list[AlertRow]:
    """A building's alerts, newest first; `acknowledged` narrows to acknowledged (True) or open ones."""
    rows = await db.fetch_all(
        # only constants are formatted into this SQL; values are parameters
        f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE building_id = $1{_STATE_FILTER[acknowledged]}"  # noqa: S608
        " ORDER BY id DESC LIMIT $2",
        building_id,
        limit,
    )
    return [_alert_row(r) for r in rows]


async def open_alerts(db: Executor, limit: int) -> list[AlertRow]:
    """Every building's unacknowledged alerts, newest first."""
    rows = await db.fetch_all(
        f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE acknowledged_at IS NULL"  # noqa: S608  # constants only
        " ORDER BY id DESC LIMIT $1",
        limit,
    )
    return [_alert_row(r) for r in rows]


async def alert(db: Executor, alert_id: int) -> AlertRow | None:
    row = await db.fetch_one(
        f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE id = $1",  # noqa: S608  # a constant column list
        alert_id,
    )
    return None if row is None else _alert_row(row)


async def alert_building(db: Executor, alert_id: int) -> str | None:
    building: str | None = await db.fetch_value("SELECT building_id FROM alerts WHERE id = $1", alert_id)
    return building


async def acknowledge_alert(db: Executor, alert_id: int, *, at: str, by: str, note: str | None) -> None:
    """Mark the alert acknowledged unless it already is (the first acknowledgement stands)."""
    await db.execute(
        "UPDATE alerts SET acknowledged_at = $1, acknowledged_by = $2, acknowledgement_note = $3"
        " WHERE id = $4 AND acknowledged_at IS NULL",
        at,
        by,
        note,
        alert_id,
    )


async def refused_receipts(
    db: Executor, building_id: str, kinds: Sequence[str], *, since: str, limit: int
) -> list[RefusedReceipt]:
    """A building's door alerts of `kinds` whose event happened at or after `since`, oldest first."""
    kind_params = ", ".join(f"${n}" for n in range(4, 4 + len(kinds)))
    rows = await db.fetch_all(
        # only "$n" placeholders are formatted into this SQL; values are parameters
        "SELECT kind, event_time, door_id, evidence FROM alerts WHERE building_id = $1"  # noqa: S608
        f" AND event_time >= $2 AND door_id IS NOT NULL AND kind IN ({kind_params})"
        " ORDER BY event_time LIMIT $3",
        building_id,
        since,
        limit,
        *kinds,
    )
    return [RefusedReceipt(r[0], r[1], r[2], r[3]) for r in rows]


async def gaps_due(db: Executor, opened_before: str, dedup_prefix: str) -> list[DueGap]:
    """Receipt gaps open since before `opened_before` with no alert `<prefix><door>:<first>-<last>` yet."""
    rows = await db.fetch_all(
        "SELECT g.door_id, d.building_id, g.first_seq, g.last_seq, g.open_since FROM receipt_gaps g"
        " JOIN doors d ON d.id = g.door_id WHERE g.open_since <= $1 AND NOT EXISTS"
        " (SELECT 1 FROM alerts a WHERE a.dedup_key = CAST($2 AS TEXT) || g.door_id || ':'"
        "  || CAST(g.first_seq AS TEXT) || '-' || CAST(g.last_seq AS TEXT))",
        opened_before,
        dedup_prefix,
    )
    return [DueGap(r[0], r[1], r[2], r[3], r[4]) for r in rows]


async def sweep_watermark(db: Executor, name: str) -> str:
    """How far the named sweep has looked ("" when it never ran)."""
    watermark: str | None = await db.fetch_value("SELECT watermark FROM alert_sweeps WHERE name = $1", name)
    return watermark or ""


async def move_sweep_watermark(db: Executor, name: str, watermark: str) -> None:
    """Forward only: a slower worker finishing an older sweep does not move it back."""
    await db.execute(
        "INSERT INTO alert_sweeps (name, watermark) VALUES ($1, $2) ON CONFLICT (name)"
        " DO UPDATE SET watermark = excluded.watermark WHERE alert_sweeps.watermark < excluded.watermark",
        name,
        watermark,
    )


async def grants_without_receipt(db: Executor, *, expired_after: str, expired_by: str) -> list[SilentGrant]:
    """Grants that expired in (`expired_after`, `expired_by`] and that no stored receipt quotes."""
    rows = await db.fetch_all(
        "SELECT g.id, d.building_id, g.door_id, g.driver_id, g.carrier_id, g.stop_id, g.issued_at, g.expires_at"
        " FROM grants g JOIN doors d ON d.id = g.door_id WHERE g.expires_at > $1 AND g.expires_at <= $2"
        " AND NOT EXISTS (SELECT 1 FROM receipts r WHERE r.grant_id = g.id AND r.door_id = g.door_id)",
        expired_after,
        expired_by,
    )
    return [SilentGrant(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]) for r in rows]
