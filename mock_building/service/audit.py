"""Audit events: every gate decision, receipt and delivery, with no more personal data than needed.

Drivers appear only as a pseudonym that is stable within one building and unlinkable across
buildings (HMAC of the driver id keyed per building), so a manager can tell "the same driver
came twice" without learning who it was or where else they went.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from enum import StrEnum

from mock_building.service.db import Store
from mock_building.service.storage import Executor
from protocol.api import AuditEvent as ApiAuditEvent

__all__ = ["AuditKind", "AuditLog"]


class AuditKind(StrEnum):
    GRANT = "grant"
    DOOR = "door"
    DELIVERY = "delivery"
    REVOCATION = "revocation"
    ALERT = "alert"


class AuditLog:
    def __init__(self, store: Store, secret: bytes) -> None:
        self._store = store
        self._secret = secret

    def driver_ref(self, building_id: str | None, driver_id: str) -> str:
        key = hmac.new(self._secret, (building_id or "").encode(), hashlib.sha256).digest()
        return "drv-" + hmac.new(key, driver_id.encode(), hashlib.sha256).hexdigest()[:12]

    def record(
        self,
        *,
        at: datetime,
        kind: AuditKind,
        outcome: str,
        reason: str,
        building_id: str | None = None,
        door_id: str | None = None,
        stop_id: str | None = None,
        carrier_id: str | None = None,
        driver_id: str | None = None,
        grant_id: str | None = None,
    ) -> None:
        ref = self.driver_ref(building_id, driver_id) if driver_id else None
        self._store.conn.execute(
            "INSERT INTO audit_events (at, kind, building_id, door_id, stop_id, carrier_id, driver_ref, outcome,"
            " reason, grant_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                at.isoformat(),
                str(kind),
                building_id,
                door_id,
                stop_id,
                carrier_id,
                ref,
                outcome,
                reason,
                grant_id,
            ),
        )

    async def record_in(
        self,
        db: Executor,
        *,
        at: datetime,
        kind: AuditKind,
        outcome: str,
        reason: str,
        building_id: str | None = None,
        door_id: str | None = None,
        stop_id: str | None = None,
        carrier_id: str | None = None,
        driver_id: str | None = None,
        grant_id: str | None = None,
    ) -> None:
        """`record`, inside the caller's transaction (transitional twin until audit moves to storage/)."""
        ref = self.driver_ref(building_id, driver_id) if driver_id else None
        await db.execute(
            "INSERT INTO audit_events (at, kind, building_id, door_id, stop_id, carrier_id, driver_ref, outcome,"
            " reason, grant_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            at.isoformat(), str(kind), building_id, door_id, stop_id, carrier_id, ref, outcome, reason, grant_id,
        )  # fmt: skip

    def building_feed(
        self, building_id: str, *, after_id: int = 0, limit: int = 100
    ) -> list[tuple[int, ApiAuditEvent]]:
        """(cursor, event) for one building's door-level events after the cursor `after_id`.

        Events that name a door: "who entered which door when, for which stop". Every door event
        and alert is shown, with or without a driver (a door event naming no known grant is exactly
        what the manager must see); grant refusals before a door was resolved stay in the admin's table.
        """
        rows = self._store.conn.execute(
            "SELECT id, at, building_id, door_id, stop_id, carrier_id, driver_ref, outcome, reason FROM audit_events"
            " WHERE building_id = ? AND id > ? AND door_id IS NOT NULL"
            " AND (driver_ref IS NOT NULL OR kind IN (?, ?)) ORDER BY id LIMIT ?",
            (building_id, after_id, str(AuditKind.DOOR), str(AuditKind.ALERT), limit),
        ).fetchall()
        return [
            (
                row["id"],
                ApiAuditEvent(
                    time=datetime.fromisoformat(row["at"]),
                    building_id=row["building_id"],
                    door_id=row["door_id"],
                    stop_id=row["stop_id"],
                    carrier=row["carrier_id"],
                    outcome=row["outcome"],
                    reason=row["reason"],
                    driver_ref=row["driver_ref"],
                ),
            )
            for row in rows
        ]
