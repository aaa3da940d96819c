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

Several workers may confirm at once: the stop's row is locked before its parcels are judged, so
"delivered once" and "completed when all are delivered" hold across them (see `storage.deliveries`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from mock_building.service.alerts import AlertBook
from mock_building.service.audit import AuditKind, AuditLog
from mock_building.service.auth import DriverIdentity
from mock_building.service.gate import NOT_ON_ROUTE
from mock_building.service.problems import ServiceProblem
from mock_building.service.seed import route_id_for
from mock_building.service.storage import Database, Executor, deliveries
from protocol.api import Delivery, DeliveryConfirmation
from protocol.reasons import ReasonCode

__all__ = ["Deliveries"]


def _delivery(row: deliveries.DeliveryRow) -> Delivery:
    return Delivery(
        delivery_id=UUID(row.delivery_id),
        stop_id=row.stop_id,
        package_ids=row.package_ids,
        grant_id=bytes.fromhex(row.grant_id) if row.grant_id else None,
        delivered_at=datetime.fromisoformat(row.delivered_at),
        recorded_at=datetime.fromisoformat(row.recorded_at),
        claimed_delivered_at=(
            datetime.fromisoformat(row.claimed_delivered_at) if row.claimed_delivered_at else None
        ),
    )


def _replayed(
    earlier: deliveries.DeliveryRow,
    driver_id: str,
    stop_id: str,
    package_ids: tuple[str, ...],
    grant_id: str | None,
) -> Delivery:
    """The stored delivery for a repeated delivery id, if this is the same confirmation again."""
    same = (earlier.driver_id, earlier.stop_id, earlier.package_ids, earlier.grant_id) == (
        driver_id,
        stop_id,
        package_ids,
        grant_id,
    )
    if not same:
        raise ServiceProblem(ReasonCode.CONFLICT, "Delivery id reused with other content")
    return _delivery(earlier)


#: Without a grant, a claimed delivery time older than this is not believed.
_UNGRANTED_LOOKBACK = timedelta(days=1)


def _judged_time(claimed: datetime, earliest: datetime, now: datetime) -> datetime:
    """The claim when it is plausible, else the nearest plausible instant."""
    if claimed > now:
        return now
    return earliest if claimed < earliest else claimed.astimezone(now.tzinfo)


def _already_delivered(package_id: str) -> ServiceProblem:
    return ServiceProblem(
        ReasonCode.ALREADY_DELIVERED,
        "Parcel already delivered",
        f"parcel {package_id} is recorded as delivered by an earlier confirmation",
    )


class Deliveries:
    def __init__(self, database: Database, audit: AuditLog, alerts: AlertBook, *, zone: ZoneInfo) -> None:
        self._database = database
        self._audit = audit
        self._alerts = alerts
        self._zone = zone

    async def confirm(
        self, who: DriverIdentity, request: DeliveryConfirmation, now: datetime
    ) -> tuple[Delivery, bool]:
        """The recorded delivery, and whether this call created it (False: an idempotent replay)."""
        package_ids = tuple(sorted(set(request.package_ids)))
        grant_id = request.grant_id.hex() if request.grant_id else None
        delivery_id = str(request.delivery_id)
        claimed = request.delivered_at
        if claimed.tzinfo is None:
            claimed = claimed.replace(tzinfo=self._zone)
        async with self._database.transaction() as tx:
            earlier = await deliveries.delivery(tx, delivery_id)
            if earlier is not None:
                return _replayed(earlier, who.driver_id, request.stop_id, package_ids, grant_id), False
            grant = None
            if grant_id is not None:
                grant = await deliveries.quoted_grant(tx, grant_id, who.driver_id, request.stop_id)
                if grant is None:
                    raise ServiceProblem(ReasonCode.NOT_FOUND, "Unknown grant", "no such grant for this stop")
            route_id = (
                grant.route_id
                if grant
                else await self._ungranted_route(tx, who.driver_id, request.stop_id, now)
            )
            building_id = await deliveries.lock_stop(tx, route_id, request.stop_id)
            if building_id is None:
                raise ServiceProblem(*NOT_ON_ROUTE)
            earliest = datetime.fromisoformat(grant.issued_at) if grant else now - _UNGRANTED_LOOKBACK
            delivered_at = _judged_time(claimed, earliest, now)
            record = deliveries.DeliveryRow(
                delivery_id=delivery_id,
                driver_id=who.driver_id,
                route_id=route_id,
                stop_id=request.stop_id,
                package_ids=package_ids,
                grant_id=grant_id,
                delivered_at=delivered_at.isoformat(),
                recorded_at=now.isoformat(),
                claimed_delivered_at=claimed.isoformat(),
            )
            # The id before the parcels: another worker may have stored this very confirmation while
            # this one waited for the stop (a refusal below rolls the id back).
            if not await deliveries.add_delivery(tx, record):
                stored = await deliveries.delivery(tx, delivery_id)
                assert stored is not None  # its id is taken, and deliveries are never deleted
                return _replayed(stored, who.driver_id, request.stop_id, package_ids, grant_id), False
            parcels = await deliveries.parcels_of(tx, route_id, request.stop_id)
            if not set(package_ids) <= set(parcels):
                raise ServiceProblem(ReasonCode.PACKAGE_NOT_FOR_STOP, "Parcel is not for this stop")
            done = [p for p in package_ids if parcels[p] is not None]
            if done:
                raise _already_delivered(done[0])
            marked = await deliveries.mark_delivered(tx, route_id, package_ids, record.delivered_at)
            if marked != len(package_ids):
                # Under the stop's lock a parcel read as undelivered still is; should that ever fail,
                # the confirmation fails loudly instead of delivering a parcel twice.
                raise _already_delivered(package_ids[0])
            await deliveries.complete_stop_if_done(tx, route_id, request.stop_id, now.isoformat())
            if grant is not None and grant.revoked_at is not None:
                await self._alerts.raise_alert(
                    tx,
                    ReasonCode.REVOKED_GRANT_USED,
                    building_id=building_id,
                    door_id=grant.door_id,
                    grant_id=grant_id,
                    carrier_id=who.carrier_id,
                    now=now,
                    dedup=f"delivery:{request.delivery_id}",
                    event_time=delivered_at,
                    evidence={
                        "delivery_id": delivery_id,
                        "grant_id": grant_id,
                        "revoked_at": grant.revoked_at,
                        "stop_id": request.stop_id,
                        "carrier": who.carrier_id,
                        "driver_ref": self._audit.driver_ref(building_id, who.driver_id),
                    },
                )
            await self._audit.record(
                tx,
                at=now,
                kind=AuditKind.DELIVERY,
                outcome="delivered",
                reason=ReasonCode.OK.slug,
                building_id=building_id,
                door_id=grant.door_id if grant else None,
                stop_id=request.stop_id,
                carrier_id=who.carrier_id,
                driver_id=who.driver_id,
                grant_id=grant_id,
            )
            return _delivery(record), True

    async def _ungranted_route(self, tx: Executor, driver_id: str, stop_id: str, now: datetime) -> str:
        """Today's route by the service's clock, or yesterday's when only that one has the stop."""
        today = now.astimezone(self._zone).date()
        for day in (today, today - timedelta(days=1)):
            route_id = route_id_for(driver_id, day)
            if await deliveries.stop_exists(tx, route_id, stop_id):
                return route_id
        return route_id_for(driver_id, today)
