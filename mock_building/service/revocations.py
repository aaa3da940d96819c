"""Revoking drivers, handheld keys and grants (admin).

A revoked driver loses every session and cannot sign in; a revoked handheld key gets no more
grants; a revoked grant is marked so later deliveries and receipts quoting it stand out in the
audit. Doors are offline, so a grant already handed out stays usable at the door until it
expires: that is why grants live 120 s by default.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from mock_building.service.audit import AuditKind, AuditLog
from mock_building.service.db import Store
from mock_building.service.problems import ServiceProblem
from protocol.reasons import ReasonCode

__all__ = ["Revocations"]


class Revocations:
    def __init__(self, store: Store, audit: AuditLog) -> None:
        self._store = store
        self._audit = audit

    def driver(self, driver_id: str, reason: str, now: datetime) -> None:
        with self._store.transaction() as db:
            row = _mark_revoked(
                db,
                "drivers",
                "id",
                driver_id,
                now,
                "Unknown driver",
                "SELECT carrier_id FROM drivers WHERE id = ?",
            )
            db.execute("DELETE FROM sessions WHERE driver_id = ?", (driver_id,))
            self._log(
                target_kind="driver",
                target=driver_id,
                reason=reason,
                now=now,
                carrier=row["carrier_id"],
                driver=driver_id,
            )

    def handheld(self, key_id: str, reason: str, now: datetime) -> None:
        with self._store.transaction() as db:
            row = _mark_revoked(
                db,
                "handhelds",
                "key_id",
                key_id,
                now,
                "Unknown handheld key",
                "SELECT h.driver_id, d.carrier_id FROM handhelds h JOIN drivers d ON d.id = h.driver_id"
                " WHERE h.key_id = ?",
            )
            self._log(
                target_kind="handheld",
                target=key_id,
                reason=reason,
                now=now,
                carrier=row["carrier_id"],
                driver=row["driver_id"],
            )

    def grant(self, grant_id: str, reason: str, now: datetime) -> None:
        with self._store.transaction() as db:
            row = _mark_revoked(
                db,
                "grants",
                "id",
                grant_id,
                now,
                "Unknown grant",
                "SELECT g.driver_id, g.carrier_id, g.door_id, g.stop_id, d.building_id FROM grants g"
                " JOIN doors d ON d.id = g.door_id WHERE g.id = ?",
            )
            self._log(
                target_kind="grant",
                target=grant_id,
                reason=reason,
                now=now,
                carrier=row["carrier_id"],
                driver=row["driver_id"],
                building=row["building_id"],
                door=row["door_id"],
                stop=row["stop_id"],
            )

    def _log(
        self,
        *,
        target_kind: str,
        target: str,
        reason: str,
        now: datetime,
        carrier: str,
        driver: str,
        building: str | None = None,
        door: str | None = None,
        stop: str | None = None,
    ) -> None:
        self._store.conn.execute(
            "INSERT INTO revocations (at, target_kind, target_id, reason) VALUES (?, ?, ?, ?)",
            (now.isoformat(), target_kind, target, reason),
        )
        self._store.run(
            self._audit.record(
                self._store.executor,
                at=now,
                kind=AuditKind.REVOCATION,
                outcome=f"{target_kind}_revoked",
                reason=ReasonCode.REVOKED.slug,
                building_id=building,
                door_id=door,
                stop_id=stop,
                carrier_id=carrier,
                driver_id=driver,
                grant_id=target if target_kind == "grant" else None,
            )
        )


def _mark_revoked(
    db: sqlite3.Connection, table: str, key_column: str, key: str, now: datetime, unknown: str, lookup: str
) -> sqlite3.Row:
    """Look the target up with `lookup` (404 `unknown` if absent) and stamp its first revocation time."""
    row = db.execute(lookup, (key,)).fetchone()
    if row is None:
        raise ServiceProblem(ReasonCode.NOT_FOUND, unknown)
    # `table` and `key_column` are constants of this module's callers, never request data
    update = f"UPDATE {table} SET revoked_at = COALESCE(revoked_at, ?) WHERE {key_column} = ?"  # noqa: S608
    db.execute(update, (now.isoformat(), key))
    return row
