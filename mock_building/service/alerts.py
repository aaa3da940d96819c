"""Alerts a building cannot miss: stored with their evidence, shown to its manager until acknowledged.

Receipts exist to reveal a relay that drops, forges or rewrites door history; telling only the
uploading driver (who may be that relay) reveals nothing. So every such finding becomes a row here,
raised by the part that sees it: receipt ingest (bad signature, chain break or fork, a grant the
service never issued, a revoked grant that opened a door, a door-sensor alert), deliveries (a
revoked grant quoted) and the time-driven `sweep` (a receipt gap still open after
`gap_after`, a grant with no receipt `grant_margin` after its expiry). Raising is idempotent on a
dedup key, so a re-uploaded bad receipt or a repeated sweep does not pile up copies.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from mock_building.service.audit import AuditKind, AuditLog
from mock_building.service.db import Store
from mock_building.service.problems import ServiceProblem
from protocol.api_building import Alert, AlertSeverity, AlertState
from protocol.reasons import ReasonCode

__all__ = ["SEVERITY", "AlertBook", "Evidence"]

Evidence = Mapping[str, str | int | None]

SEVERITY: Mapping[ReasonCode, AlertSeverity] = {
    ReasonCode.RECEIPT_GAP: AlertSeverity.WARNING,
    ReasonCode.CHAIN_BROKEN: AlertSeverity.CRITICAL,
    ReasonCode.CHAIN_FORK: AlertSeverity.CRITICAL,
    ReasonCode.RECEIPT_BAD_SIGNATURE: AlertSeverity.CRITICAL,
    ReasonCode.GRANT_WITHOUT_RECEIPT: AlertSeverity.WARNING,
    ReasonCode.REVOKED_GRANT_USED: AlertSeverity.CRITICAL,
    ReasonCode.UNKNOWN_GRANT: AlertSeverity.CRITICAL,
    ReasonCode.DOOR_FORCED: AlertSeverity.CRITICAL,
    ReasonCode.DOOR_HELD_OPEN: AlertSeverity.WARNING,
    ReasonCode.UNLOCKED_NOT_OPENED: AlertSeverity.NOTICE,
}

_GRANT_SWEEP = "grants_without_receipt"


def _alert(row: sqlite3.Row) -> Alert:
    acknowledged = row["acknowledged_at"]
    return Alert(
        alert_id=row["id"],
        kind=row["kind"],
        severity=AlertSeverity(row["severity"]),
        state=AlertState.ACKNOWLEDGED if acknowledged else AlertState.OPEN,
        building_id=row["building_id"],
        door_id=row["door_id"],
        raised_at=datetime.fromisoformat(row["raised_at"]),
        event_time=datetime.fromisoformat(row["event_time"]) if row["event_time"] else None,
        evidence=json.loads(row["evidence"]),
        acknowledged_at=datetime.fromisoformat(acknowledged) if acknowledged else None,
        acknowledged_by=row["acknowledged_by"],
        note=row["acknowledgement_note"],
    )


class AlertBook:
    def __init__(self, store: Store, audit: AuditLog, *, gap_after_s: float, grant_margin_s: float) -> None:
        self._store = store
        self._audit = audit
        self.gap_after = timedelta(seconds=gap_after_s)
        self.grant_margin = timedelta(seconds=grant_margin_s)

    def raise_alert(
        self,
        kind: ReasonCode,
        *,
        building_id: str,
        dedup: str,
        now: datetime,
        evidence: Evidence,
        door_id: str | None = None,
        grant_id: str | None = None,
        carrier_id: str | None = None,
        event_time: datetime | None = None,
        severity: AlertSeverity | None = None,
    ) -> None:
        """Store one alert (unless `kind:dedup` is already stored) and put it in the audit feed.

        Runs on the caller's transaction, so an alert is stored exactly when the finding is.
        `severity` overrides the kind's usual one (`SEVERITY`).
        """
        severity = severity or SEVERITY.get(kind, AlertSeverity.WARNING)
        cursor = self._store.conn.execute(
            "INSERT OR IGNORE INTO alerts (kind, severity, building_id, door_id, grant_id, carrier_id,"
            " event_time, raised_at, evidence, dedup_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                kind.slug,
                severity.value,
                building_id,
                door_id,
                grant_id,
                carrier_id,
                event_time.isoformat() if event_time else None,
                now.isoformat(),
                json.dumps(dict(evidence), sort_keys=True),
                f"{kind.slug}:{dedup}",
            ),
        )
        if cursor.rowcount:
            self._audit.record(
                at=now,
                kind=AuditKind.ALERT,
                outcome="alert_raised",
                reason=kind.slug,
                building_id=building_id,
                door_id=door_id,
                carrier_id=carrier_id,
                grant_id=grant_id,
            )

    # -- time-driven findings ----------------------------------------------------------------------

    def sweep(self, now: datetime) -> None:
        """Raise what only time reveals; cheap enough to run before every read of the alerts."""
        with self._store.transaction():
            self._open_gaps(now)
            self._grants_without_receipt(now)

    def note_gaps(self, door_id: str, ranges: Sequence[tuple[int, int]], now: datetime) -> None:
        """Record a door's current gaps (on the upload's transaction) with when each opened.

        A gap opens when the first receipt after it arrives; a gap that shrinks or splits keeps
        the opening time of the gap it came from.
        """
        db = self._store.conn
        before = db.execute(
            "SELECT first_seq, last_seq, open_since FROM receipt_gaps WHERE door_id = ?", (door_id,)
        ).fetchall()
        db.execute("DELETE FROM receipt_gaps WHERE door_id = ?", (door_id,))
        for first, last in ranges:
            overlapping = [
                row["open_since"] for row in before if row["first_seq"] <= last and first <= row["last_seq"]
            ]
            since = min(overlapping, default=now.isoformat())
            db.execute(
                "INSERT INTO receipt_gaps (door_id, first_seq, last_seq, open_since) VALUES (?, ?, ?, ?)",
                (door_id, first, last, since),
            )

    def _open_gaps(self, now: datetime) -> None:
        gaps = self._store.conn.execute(
            "SELECT g.door_id, g.first_seq, g.last_seq, g.open_since, d.building_id FROM receipt_gaps g"
            " JOIN doors d ON d.id = g.door_id WHERE g.open_since <= ? AND NOT EXISTS"
            " (SELECT 1 FROM alerts a"
            "  WHERE a.dedup_key = ? || g.door_id || ':' || g.first_seq || '-' || g.last_seq)",
            ((now - self.gap_after).isoformat(), f"{ReasonCode.RECEIPT_GAP.slug}:"),
        ).fetchall()
        for gap in gaps:
            open_since = datetime.fromisoformat(gap["open_since"])
            self.raise_alert(
                ReasonCode.RECEIPT_GAP,
                building_id=gap["building_id"],
                door_id=gap["door_id"],
                now=now,
                dedup=f"{gap['door_id']}:{gap['first_seq']}-{gap['last_seq']}",
                event_time=open_since,
                evidence={
                    "door_id": gap["door_id"],
                    "first_seq": gap["first_seq"],
                    "last_seq": gap["last_seq"],
                    "open_since": gap["open_since"],
                    "open_minutes": int((now - open_since).total_seconds() // 60),
                },
            )

    def _grants_without_receipt(self, now: datetime) -> None:
        """Grants that expired more than the margin ago and that no receipt quotes, each seen once."""
        db = self._store.conn
        cutoff = (now - self.grant_margin).isoformat()
        row = db.execute("SELECT watermark FROM alert_sweeps WHERE name = ?", (_GRANT_SWEEP,)).fetchone()
        watermark = row["watermark"] if row else ""
        if cutoff <= watermark:
            return
        grants = db.execute(
            "SELECT g.id, g.driver_id, g.carrier_id, g.stop_id, g.door_id, g.issued_at, g.expires_at,"
            " d.building_id"
            " FROM grants g JOIN doors d ON d.id = g.door_id WHERE g.expires_at > ? AND g.expires_at <= ?"
            " AND NOT EXISTS (SELECT 1 FROM receipts r WHERE r.grant_id = g.id AND r.door_id = g.door_id)",
            (watermark, cutoff),
        ).fetchall()
        for grant in grants:
            self.raise_alert(
                ReasonCode.GRANT_WITHOUT_RECEIPT,
                building_id=grant["building_id"],
                door_id=grant["door_id"],
                grant_id=grant["id"],
                carrier_id=grant["carrier_id"],
                now=now,
                dedup=grant["id"],
                event_time=datetime.fromisoformat(grant["issued_at"]),
                evidence={
                    "grant_id": grant["id"],
                    "door_id": grant["door_id"],
                    "stop_id": grant["stop_id"],
                    "carrier": grant["carrier_id"],
                    "driver_ref": self._audit.driver_ref(grant["building_id"], grant["driver_id"]),
                    "issued_at": grant["issued_at"],
                    "expires_at": grant["expires_at"],
                    "margin_minutes": int(self.grant_margin.total_seconds() // 60),
                },
            )
        db.execute(
            "INSERT INTO alert_sweeps (name, watermark) VALUES (?, ?)"
            " ON CONFLICT (name) DO UPDATE SET watermark = excluded.watermark",
            (_GRANT_SWEEP, cutoff),
        )

    # -- the manager's side ------------------------------------------------------------------------

    def feed(self, building_id: str, *, state: AlertState | None = None, limit: int = 100) -> list[Alert]:
        """A building's alerts, newest first; `state` narrows to open or acknowledged ones."""
        acknowledged = {
            None: "",
            AlertState.OPEN: " AND acknowledged_at IS NULL",
            AlertState.ACKNOWLEDGED: " AND acknowledged_at IS NOT NULL",
        }[state]
        rows = self._store.conn.execute(
            # only constants and "?" placeholders are formatted into this SQL; values are parameters
            f"SELECT * FROM alerts WHERE building_id = ?{acknowledged} ORDER BY id DESC LIMIT ?",  # noqa: S608
            (building_id, limit),
        ).fetchall()
        return [_alert(row) for row in rows]

    def open_alerts(self, limit: int = 100) -> list[Alert]:
        """Every building's open alerts, newest first (the mock building's operator view)."""
        rows = self._store.conn.execute(
            "SELECT * FROM alerts WHERE acknowledged_at IS NULL ORDER BY id DESC LIMIT ?", (limit,)
        ).fetchall()
        return [_alert(row) for row in rows]

    def building_of(self, alert_id: int) -> str:
        row = self._store.conn.execute("SELECT building_id FROM alerts WHERE id = ?", (alert_id,)).fetchone()
        if row is None:
            raise ServiceProblem(ReasonCode.NOT_FOUND, "Unknown alert")
        return str(row["building_id"])

    def acknowledge(self, alert_id: int, *, by: str, note: str, now: datetime) -> Alert:
        """The first acknowledgement stands; repeating it is harmless and changes nothing."""
        with self._store.transaction() as db:
            db.execute(
                "UPDATE alerts SET acknowledged_at = ?, acknowledged_by = ?, acknowledgement_note = ?"
                " WHERE id = ? AND acknowledged_at IS NULL",
                (now.isoformat(), by, note or None, alert_id),
            )
            row = db.execute("SELECT * FROM alerts WHERE id = ?", (alert_id,)).fetchone()
        if row is None:
            raise ServiceProblem(ReasonCode.NOT_FOUND, "Unknown alert")
        return _alert(row)
