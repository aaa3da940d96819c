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
from collections.abc import Mapping
from datetime import datetime, timedelta

from mock_building.service.audit import AuditKind, AuditLog
from mock_building.service.problems import ServiceProblem
from mock_building.service.storage import Database, Executor, audit
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
_GAP_DEDUP = f"{ReasonCode.RECEIPT_GAP.slug}:"


def _alert(row: audit.AlertRow) -> Alert:
    return Alert(
        alert_id=row.alert_id,
        kind=row.kind,
        severity=AlertSeverity(row.severity),
        state=AlertState.ACKNOWLEDGED if row.acknowledged_at else AlertState.OPEN,
        building_id=row.building_id,
        door_id=row.door_id,
        raised_at=datetime.fromisoformat(row.raised_at),
        event_time=datetime.fromisoformat(row.event_time) if row.event_time else None,
        evidence=json.loads(row.evidence),
        acknowledged_at=datetime.fromisoformat(row.acknowledged_at) if row.acknowledged_at else None,
        acknowledged_by=row.acknowledged_by,
        note=row.note,
    )


class AlertBook:
    def __init__(
        self, database: Database, audit_log: AuditLog, *, gap_after_s: float, grant_margin_s: float
    ) -> None:
        self._database = database
        self._audit = audit_log
        self.gap_after = timedelta(seconds=gap_after_s)
        self.grant_margin = timedelta(seconds=grant_margin_s)

    async def raise_alert(
        self,
        tx: Executor,
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

        Runs on the caller's transaction `tx`, so an alert is stored exactly when the finding is.
        `severity` overrides the kind's usual one (`SEVERITY`).
        """
        severity = severity or SEVERITY.get(kind, AlertSeverity.WARNING)
        added = await audit.add_alert(
            tx,
            audit.NewAlert(
                kind=kind.slug,
                severity=severity.value,
                building_id=building_id,
                door_id=door_id,
                grant_id=grant_id,
                carrier_id=carrier_id,
                event_time=event_time.isoformat() if event_time else None,
                raised_at=now.isoformat(),
                evidence=json.dumps(dict(evidence), sort_keys=True),
                dedup_key=f"{kind.slug}:{dedup}",
            ),
        )
        if added:
            await self._audit.record(
                tx,
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

    async def sweep(self, now: datetime) -> None:
        """Raise what only time reveals; cheap enough to run before every read of the alerts."""
        async with self._database.transaction() as tx:
            await self._open_gaps(tx, now)
            await self._grants_without_receipt(tx, now)

    async def _open_gaps(self, tx: Executor, now: datetime) -> None:
        """Receipt gaps (kept by receipt ingest, with when each opened) open longer than `gap_after`."""
        for gap in await audit.gaps_due(tx, (now - self.gap_after).isoformat(), _GAP_DEDUP):
            open_since = datetime.fromisoformat(gap.open_since)
            await self.raise_alert(
                tx,
                ReasonCode.RECEIPT_GAP,
                building_id=gap.building_id,
                door_id=gap.door_id,
                now=now,
                dedup=f"{gap.door_id}:{gap.first_seq}-{gap.last_seq}",
                event_time=open_since,
                evidence={
                    "door_id": gap.door_id,
                    "first_seq": gap.first_seq,
                    "last_seq": gap.last_seq,
                    "open_since": gap.open_since,
                    "open_minutes": int((now - open_since).total_seconds() // 60),
                },
            )

    async def _grants_without_receipt(self, tx: Executor, now: datetime) -> None:
        """Grants that expired more than the margin ago and that no receipt quotes, each seen once."""
        cutoff = (now - self.grant_margin).isoformat()
        watermark = await audit.sweep_watermark(tx, _GRANT_SWEEP)
        if cutoff <= watermark:
            return
        for grant in await audit.grants_without_receipt(tx, expired_after=watermark, expired_by=cutoff):
            await self.raise_alert(
                tx,
                ReasonCode.GRANT_WITHOUT_RECEIPT,
                building_id=grant.building_id,
                door_id=grant.door_id,
                grant_id=grant.grant_id,
                carrier_id=grant.carrier_id,
                now=now,
                dedup=grant.grant_id,
                event_time=datetime.fromisoformat(grant.issued_at),
                evidence={
                    "grant_id": grant.grant_id,
                    "door_id": grant.door_id,
                    "stop_id": grant.stop_id,
                    "carrier": grant.carrier_id,
                    "driver_ref": self._audit.driver_ref(grant.building_id, grant.driver_id),
                    "issued_at": grant.issued_at,
                    "expires_at": grant.expires_at,
                    "margin_minutes": int(self.grant_margin.total_seconds() // 60),
                },
            )
        await audit.move_sweep_watermark(tx, _GRANT_SWEEP, cutoff)

    # -- the manager's side ------------------------------------------------------------------------

    async def feed(
        self, building_id: str, *, state: AlertState | None = None, limit: int = 100
    ) -> list[Alert]:
        """A building's alerts, newest first; `state` narrows to open or acknowledged ones."""
        acknowledged = None if state is None else state is AlertState.ACKNOWLEDGED
        rows = await audit.alerts_of(self._database, building_id, acknowledged=acknowledged, limit=limit)
        return [_alert(row) for row in rows]

    async def open_alerts(self, limit: int = 100) -> list[Alert]:
        """Every building's open alerts, newest first (the mock building's operator view)."""
        return [_alert(row) for row in await audit.open_alerts(self._database, limit)]

    async def building_of(self, alert_id: int) -> str:
        building = await audit.alert_building(self._database, alert_id)
        if building is None:
            raise ServiceProblem(ReasonCode.NOT_FOUND, "Unknown alert")
        return building

    async def acknowledge(self, alert_id: int, *, by: str, note: str, now: datetime) -> Alert:
        """The first acknowledgement stands; repeating it is harmless and changes nothing."""
        async with self._database.transaction() as tx:
            await audit.acknowledge_alert(tx, alert_id, at=now.isoformat(), by=by, note=note or None)
            row = await audit.alert(tx, alert_id)
        if row is None:
            raise ServiceProblem(ReasonCode.NOT_FOUND, "Unknown alert")
        return _alert(row)
