"""Delivery confirmations, idempotent on the client-generated delivery id.

The handheld may send a confirmation from its outbox several times (lost responses, restarts): the
same id with the same content returns the stored delivery; the same id with other content is a
conflict. A stop completes when all its packages are delivered; later grant requests for it are
refused with `stop_completed`.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from zoneinfo import ZoneInfo

from mock_building.service.audit import AuditKind, AuditLog
from mock_building.service.auth import DriverIdentity
from mock_building.service.db import Store
from mock_building.service.gate import NOT_ON_ROUTE
from mock_building.service.problems import ServiceProblem
from mock_building.service.seed import route_id_for
from protocol.api import Delivery, DeliveryConfirmation
from protocol.reasons import ReasonCode

__all__ = ["Deliveries"]


def _delivery(row: sqlite3.Row) -> Delivery:
    return Delivery(
        delivery_id=row["id"],
        stop_id=row["stop_id"],
        package_ids=tuple(json.loads(row["package_ids"])),
        grant_id=bytes.fromhex(row["grant_id"]) if row["grant_id"] else None,
        delivered_at=datetime.fromisoformat(row["delivered_at"]),
        recorded_at=datetime.fromisoformat(row["recorded_at"]),
    )


class Deliveries:
    def __init__(self, store: Store, audit: AuditLog, *, zone: ZoneInfo) -> None:
        self._store = store
        self._audit = audit
        self._zone = zone

    def confirm(self, who: DriverIdentity, request: DeliveryConfirmation, now: datetime) -> tuple[Delivery, bool]:
        """The recorded delivery, and whether this call created it (False: an idempotent replay)."""
        package_ids = tuple(sorted(set(request.package_ids)))
        grant_id = request.grant_id.hex() if request.grant_id else None
        delivered_at = request.delivered_at if request.delivered_at.tzinfo else request.delivered_at.replace(tzinfo=self._zone)
        with self._store.transaction() as db:
            earlier = db.execute("SELECT * FROM deliveries WHERE id = ?", (str(request.delivery_id),)).fetchone()
            if earlier is not None:
                same = (earlier["driver_id"], earlier["stop_id"], tuple(json.loads(earlier["package_ids"])),
                        earlier["grant_id"]) == (who.driver_id, request.stop_id, package_ids, grant_id)
                if not same:
                    raise ServiceProblem(ReasonCode.CONFLICT, "Delivery id reused with other content")
                return _delivery(earlier), False
            # The route of the day the parcel was delivered: an outbox may sync after midnight.
            route_id = route_id_for(who.driver_id, delivered_at.astimezone(self._zone).date())
            stop = db.execute(
                "SELECT building_id FROM stops WHERE route_id = ? AND id = ?", (route_id, request.stop_id)
            ).fetchone()
            if stop is None:
                raise ServiceProblem(*NOT_ON_ROUTE)
            known = {row[0] for row in db.execute(
                "SELECT id FROM packages WHERE route_id = ? AND stop_id = ?", (route_id, request.stop_id))}
            if not set(package_ids) <= known:
                raise ServiceProblem(ReasonCode.PACKAGE_NOT_FOR_STOP, "Parcel is not for this stop")
            door = None
            if grant_id is not None:
                door = db.execute(
                    "SELECT door_id FROM grants WHERE id = ? AND driver_id = ? AND stop_id = ?",
                    (grant_id, who.driver_id, request.stop_id),
                ).fetchone()
                if door is None:
                    raise ServiceProblem(ReasonCode.NOT_FOUND, "Unknown grant", "no such grant for this stop")
            db.executemany(
                "UPDATE packages SET delivered_at = COALESCE(delivered_at, ?) WHERE route_id = ? AND id = ?",
                [(delivered_at.isoformat(), route_id, p) for p in package_ids],
            )
            pending = db.execute(
                "SELECT COUNT(*) FROM packages WHERE route_id = ? AND stop_id = ? AND delivered_at IS NULL",
                (route_id, request.stop_id),
            ).fetchone()[0]
            if pending == 0:
                db.execute(
                    "UPDATE stops SET completed_at = COALESCE(completed_at, ?) WHERE route_id = ? AND id = ?",
                    (now.isoformat(), route_id, request.stop_id),
                )
            db.execute(
                "INSERT INTO deliveries (id, driver_id, route_id, stop_id, package_ids, grant_id, delivered_at,"
                " recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (str(request.delivery_id), who.driver_id, route_id, request.stop_id, json.dumps(package_ids), grant_id,
                 delivered_at.isoformat(), now.isoformat()),
            )
            self._audit.record(
                at=now, kind=AuditKind.DELIVERY, outcome="delivered", reason=ReasonCode.OK.slug,
                building_id=stop["building_id"], door_id=door["door_id"] if door else None, stop_id=request.stop_id,
                carrier_id=who.carrier_id, driver_id=who.driver_id, grant_id=grant_id,
            )
            row = db.execute("SELECT * FROM deliveries WHERE id = ?", (str(request.delivery_id),)).fetchone()
            return _delivery(row), True
