"""Delivery confirmations, idempotent on the client-generated delivery id.

The handheld may send a confirmation from its outbox several times (lost responses, restarts): the
same id with the same content returns the stored delivery; the same id with other content is a
conflict. A parcel is delivered once, whatever the delivery id: a second confirmation of it under
another id is refused as `already_delivered`. A stop completes when all its packages are delivered;
later grant requests for it are refused with `stop_completed`.

The handheld's clock is a claim, never a basis for acceptance (a reset clock says 2000-01-01): the
route day comes from the grant the delivery quotes (without one, the service's own today, or
yesterday for an outbox that synced after midnight), and the recorded `delivered_at` is the claim
only when it lies between the grant's issue (or a day ago) and now, else the nearest bound. The
claim itself is kept as `claimed_delivered_at`. A delivery quoting a revoked grant is recorded (the
parcel is there) and raises a building alert.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from mock_building.service.alerts import AlertBook
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
        claimed_delivered_at=(
            datetime.fromisoformat(row["claimed_delivered_at"]) if row["claimed_delivered_at"] else None
        ),
    )


#: Without a grant, a claimed delivery time older than this is not believed.
_UNGRANTED_LOOKBACK = timedelta(days=1)


def _judged_time(claimed: datetime, earliest: datetime, now: datetime) -> datetime:
    """The claim when it is plausible, else the nearest plausible instant."""
    if claimed > now:
        return now
    return earliest if claimed < earliest else claimed.astimezone(now.tzinfo)


class Deliveries:
    def __init__(self, store: Store, audit: AuditLog, alerts: AlertBook, *, zone: ZoneInfo) -> None:
        self._store = store
        self._audit = audit
        self._alerts = alerts
        self._zone = zone

    def confirm(
        self, who: DriverIdentity, request: DeliveryConfirmation, now: datetime
    ) -> tuple[Delivery, bool]:
        """The recorded delivery, and whether this call created it (False: an idempotent replay)."""
        package_ids = tuple(sorted(set(request.package_ids)))
        grant_id = request.grant_id.hex() if request.grant_id else None
        claimed = request.delivered_at
        if claimed.tzinfo is None:
            claimed = claimed.replace(tzinfo=self._zone)
        with self._store.transaction() as db:
            earlier = db.execute(
                "SELECT * FROM deliveries WHERE id = ?", (str(request.delivery_id),)
            ).fetchone()
            if earlier is not None:
                same = (
                    earlier["driver_id"],
                    earlier["stop_id"],
                    tuple(json.loads(earlier["package_ids"])),
                    earlier["grant_id"],
                ) == (who.driver_id, request.stop_id, package_ids, grant_id)
                if not same:
                    raise ServiceProblem(ReasonCode.CONFLICT, "Delivery id reused with other content")
                return _delivery(earlier), False
            grant = None
            if grant_id is not None:
                grant = db.execute(
                    "SELECT door_id, route_id, issued_at, revoked_at FROM grants"
                    " WHERE id = ? AND driver_id = ? AND stop_id = ?",
                    (grant_id, who.driver_id, request.stop_id),
                ).fetchone()
                if grant is None:
                    raise ServiceProblem(ReasonCode.NOT_FOUND, "Unknown grant", "no such grant for this stop")
            route_id = (
                grant["route_id"] if grant else self._ungranted_route(db, who.driver_id, request.stop_id, now)
            )
            stop = db.execute(
                "SELECT building_id FROM stops WHERE route_id = ? AND id = ?", (route_id, request.stop_id)
            ).fetchone()
            if stop is None:
                raise ServiceProblem(*NOT_ON_ROUTE)
            packages = {
                row["id"]: row["delivered_at"]
                for row in db.execute(
                    "SELECT id, delivered_at FROM packages WHERE route_id = ? AND stop_id = ?",
                    (route_id, request.stop_id),
                )
            }
            if not set(package_ids) <= set(packages):
                raise ServiceProblem(ReasonCode.PACKAGE_NOT_FOR_STOP, "Parcel is not for this stop")
            done = [p for p in package_ids if packages[p] is not None]
            if done:
                raise ServiceProblem(
                    ReasonCode.ALREADY_DELIVERED,
                    "Parcel already delivered",
                    f"parcel {done[0]} is recorded as delivered by an earlier confirmation",
                )
            earliest = datetime.fromisoformat(grant["issued_at"]) if grant else now - _UNGRANTED_LOOKBACK
            delivered_at = _judged_time(claimed, earliest, now)
            if grant is not None and grant["revoked_at"] is not None:
                self._alerts.raise_alert(
                    ReasonCode.REVOKED_GRANT_USED,
                    building_id=stop["building_id"],
                    door_id=grant["door_id"],
                    grant_id=grant_id,
                    carrier_id=who.carrier_id,
                    now=now,
                    dedup=f"delivery:{request.delivery_id}",
                    event_time=delivered_at,
                    evidence={
                        "delivery_id": str(request.delivery_id),
                        "grant_id": grant_id,
                        "revoked_at": grant["revoked_at"],
                        "stop_id": request.stop_id,
                        "carrier": who.carrier_id,
                        "driver_ref": self._audit.driver_ref(stop["building_id"], who.driver_id),
                    },
                )
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
                " recorded_at, claimed_delivered_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    str(request.delivery_id),
                    who.driver_id,
                    route_id,
                    request.stop_id,
                    json.dumps(package_ids),
                    grant_id,
                    delivered_at.isoformat(),
                    now.isoformat(),
                    claimed.isoformat(),
                ),
            )
            self._audit.record(
                at=now,
                kind=AuditKind.DELIVERY,
                outcome="delivered",
                reason=ReasonCode.OK.slug,
                building_id=stop["building_id"],
                door_id=grant["door_id"] if grant else None,
                stop_id=request.stop_id,
                carrier_id=who.carrier_id,
                driver_id=who.driver_id,
                grant_id=grant_id,
            )
            row = db.execute("SELECT * FROM deliveries WHERE id = ?", (str(request.delivery_id),)).fetchone()
            return _delivery(row), True

    def _ungranted_route(self, db: sqlite3.Connection, driver_id: str, stop_id: str, now: datetime) -> str:
        """Today's route by the service's clock, or yesterday's when only that one has the stop."""
        today = now.astimezone(self._zone).date()
        for day in (today, today - timedelta(days=1)):
            route_id = route_id_for(driver_id, day)
            found = db.execute("SELECT 1 FROM stops WHERE route_id = ? AND id = ?", (route_id, stop_id))
            if found.fetchone():
                return route_id
        return route_id_for(driver_id, today)
