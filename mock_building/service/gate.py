"""The grant gate: the one place that decides whether a driver gets a door grant.

Checks, in order: rate limit; the handheld key is the driver's and not revoked; the driver has a
route today with this stop (another driver's stop and a missing stop get the same answer, so ids
cannot be probed); the stop is not completed; the scanned barcode is one of the stop's packages;
the door belongs to the stop's building; the building accepts the driver's carrier; the delivery
window is open. Every decision, granted or refused, becomes an audit event with its reason code.

A request may carry an idempotency key (the `Idempotency-Key` header): the first grant issued
under it is stored with a hash of the request, and a retry with the same key and the same request
gets that very grant back (no second live grant for one scan), while the same key with another
request is a `conflict`. Refusals are not stored: a retry is judged afresh. A key answers with its
grant only while that grant is live: a retry after it expired (an answer lost for longer than a
grant lives) is a new request, and the key is taken over by its grant, since an expired grant opens
no door. The earlier grant is looked for only when a request under a key cannot store its own, or
would be refused (its stop completed or its slots taken since): a first request, the usual case,
pays one insert and no lookup. Keys whose grants have expired are forgotten by a chore
(`forget_spent_requests`), so they do not pile up.
"""

from __future__ import annotations

import hashlib
import math
import os
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from mock_building.scenario.loader import DeliveryWindow
from mock_building.service.audit import AuditKind, AuditLog
from mock_building.service.auth import DriverIdentity
from mock_building.service.problems import ServiceProblem
from mock_building.service.seed import route_id_for
from mock_building.service.signers import CarrierSigners
from mock_building.service.storage import Database, Executor, grants
from protocol.grant import DEFAULT_LIFETIME, GrantClaims, issue_grant
from protocol.reasons import ReasonCode

__all__ = ["FORGET_AT_MOST", "NOT_ON_ROUTE", "GrantGate", "IssuedGrant", "today_route_id"]

FORGET_AT_MOST = 1000
"""Spent idempotency keys deleted per transaction: a long backlog never holds the database for long."""


@dataclass(frozen=True)
class IssuedGrant:
    token: bytes
    grant_id: bytes
    door_id: str
    expires_at: datetime


def today_route_id(driver_id: str, now: datetime, zone: ZoneInfo) -> str:
    """Routes belong to the building's local day, not the UTC one."""
    return route_id_for(driver_id, now.astimezone(zone).date())


# Same status, title and detail whether the stop is another driver's or does not exist at all.
NOT_ON_ROUTE = (ReasonCode.NOT_ON_ROUTE, "Stop not on your route today", "no such stop on your route today")


@lru_cache(maxsize=256)
def _window(start: str | None, end: str | None) -> DeliveryWindow:
    """A stop's stored window (a validated model costs more than the rest of the check); kept per text."""
    return DeliveryWindow(
        start=time.fromisoformat(start) if start else None, end=time.fromisoformat(end) if end else None
    )


class _AnsweredBefore(Exception):
    """Another request under this idempotency key has its grant: roll back, and answer with that one
    (`grant`, when it was read already; else it is read after the rollback)."""

    def __init__(self, grant: IssuedGrant | None = None) -> None:
        super().__init__()
        self.grant = grant


class GrantGate:
    def __init__(
        self,
        database: Database,
        audit: AuditLog,
        signers: CarrierSigners,
        *,
        zone: ZoneInfo,
        rate_limit: int,
        rate_window_s: float,
        lifetime_s: int = DEFAULT_LIFETIME,
    ) -> None:
        if rate_limit < 1 or rate_window_s <= 0:
            raise ValueError("a rate limit needs limit >= 1 and a positive window")
        self._database = database
        self._audit = audit
        self._signers = signers
        self._zone = zone
        self._rate_limit = rate_limit
        self._rate_window_s = rate_window_s
        self.lifetime_s = lifetime_s

    async def request(
        self,
        who: DriverIdentity,
        *,
        stop_id: str,
        door_id: str,
        barcode: str,
        handheld_key_id: str,
        now: datetime,
        idempotency_key: str | None = None,
    ) -> tuple[IssuedGrant, bool]:
        """The grant, and whether it was issued now (False: the replay of an earlier one with the same key).

        One transaction: the rate-limit slot, the decision and its audit event commit together, a
        refusal included (a refused request still counts against the limit).
        """
        # Only a request with an idempotency key is compared with an earlier one. Unit separators
        # keep the fields apart: ("a", "bc") and ("ab", "c") hash differently.
        body_hash = b""
        if idempotency_key is not None:
            body_hash = hashlib.sha256(
                f"{stop_id}\x1f{door_id}\x1f{barcode.strip()}\x1f{handheld_key_id}".encode()
            ).digest()
        # Filled in as the decision learns more, so a refusal is audited with what was known then.
        context: dict[str, str | None] = {"carrier_id": who.carrier_id, "driver_id": who.driver_id}
        refusal: ServiceProblem | None = None
        try:
            async with self._database.transaction() as tx:
                try:
                    grant = await self._decide(
                        tx, who, stop_id, door_id, barcode, handheld_key_id, now, context
                    )
                except ServiceProblem as problem:
                    # A retry is answered as before, not refused now (nor audited, nor counted).
                    if idempotency_key is not None and (
                        earlier := await self._replay(tx, who.driver_id, idempotency_key, body_hash, now)
                    ):
                        raise _AnsweredBefore(earlier) from None
                    refusal = problem
                    await self._audit.record(
                        tx, at=now, kind=AuditKind.GRANT, outcome="grant_refused", reason=problem.code.slug,
                        **context,
                    )  # fmt: skip
                else:
                    await self._audit.record(
                        tx, at=now, kind=AuditKind.GRANT, outcome="grant_issued", reason=ReasonCode.OK.slug,
                        grant_id=grant.grant_id.hex(), **context,
                    )  # fmt: skip
                    if idempotency_key is not None and not await grants.remember_request(
                        tx, who.driver_id, idempotency_key, body_hash, grant.grant_id.hex(), grant.token,
                        now.isoformat(),
                    ):  # fmt: skip
                        raise _AnsweredBefore
        except _AnsweredBefore as answered:  # rolled back: the slot, the audit event and this grant are gone
            assert idempotency_key is not None
            earlier = answered.grant or await self._replay(
                self._database, who.driver_id, idempotency_key, body_hash, now
            )
            if earlier is None:
                raise ServiceProblem(ReasonCode.CONFLICT, "Idempotency key in use") from None
            return earlier, False
        if refusal is not None:
            raise refusal
        return grant, True

    async def forget_spent_requests(self, now: datetime) -> int:
        """Delete the idempotency keys whose grants have expired by `now`; how many were."""
        # Issued a lifetime ago or earlier: an index range of expired grants (at this lifetime). Each
        # grant's own expiry is checked too: one issued before the lifetime changed may live on.
        issued_by = (now - timedelta(seconds=self.lifetime_s)).isoformat()
        forgotten = 0
        while True:
            async with self._database.transaction() as tx:
                step = await grants.forget_spent_requests(tx, issued_by, now.isoformat(), FORGET_AT_MOST)
            forgotten += step
            if step < FORGET_AT_MOST:
                return forgotten

    @staticmethod
    async def _replay(
        db: Executor, driver_id: str, key: str, body_hash: bytes, now: datetime
    ) -> IssuedGrant | None:
        """The live grant issued earlier under `key` (None: none, or it has expired)."""
        earlier = await grants.replay(db, driver_id, key)
        if earlier is None:
            return None
        expires_at = datetime.fromisoformat(earlier.expires_at)
        if expires_at <= now:  # an expired grant opens no door: the key is free for a new request
            return None
        if earlier.body_hash != body_hash:
            raise ServiceProblem(
                ReasonCode.CONFLICT,
                "Idempotency key reused",
                "this Idempotency-Key was used for another request",
            )
        return IssuedGrant(earlier.token, bytes.fromhex(earlier.grant_id), earlier.door_id, expires_at)

    async def _decide(
        self,
        db: Executor,
        who: DriverIdentity,
        stop_id: str,
        door_id: str,
        barcode: str,
        handheld_key_id: str,
        now: datetime,
        context: dict[str, str | None],
    ) -> IssuedGrant:
        route_id = today_route_id(who.driver_id, now, self._zone)
        wait_s, facts = await grants.take_grant_slot(
            db,
            f"driver:{who.driver_id}",
            now.timestamp(),
            grants.GrantAsk(
                handheld_key_id, who.driver_id, route_id, stop_id, door_id, barcode.strip(), who.carrier_id
            ),
            limit=self._rate_limit,
            window_s=self._rate_window_s,
        )
        if wait_s:
            retry = max(1, math.ceil(wait_s))
            raise ServiceProblem(
                ReasonCode.RATE_LIMITED,
                "Too many grant requests",
                f"try again in {retry} s",
                headers={"Retry-After": str(retry)},
            )
        if facts is None:
            raise ServiceProblem(
                ReasonCode.UNKNOWN_HANDHELD, "Unknown handheld", "register this handheld's key first"
            )
        if facts.handheld_revoked:
            raise ServiceProblem(
                ReasonCode.REVOKED, "Handheld revoked", "this handheld's key has been revoked"
            )
        target = facts.target
        if target is None:
            raise ServiceProblem(*NOT_ON_ROUTE)
        building_id = target.building_id
        # The door is named in the audit event only once it is known to be one of this building's.
        context.update(
            building_id=building_id, stop_id=stop_id, door_id=door_id if target.door_in_building else None
        )
        if target.completed:
            raise ServiceProblem(ReasonCode.STOP_COMPLETED, "Stop already completed")
        if target.package_id is None:
            raise ServiceProblem(ReasonCode.PACKAGE_NOT_FOR_STOP, "Parcel is not for this stop")
        if not target.door_in_building:
            raise ServiceProblem(ReasonCode.DOOR_NOT_FOR_STOP, "Door is not at this stop's building")
        if not target.carrier_accepted:
            raise ServiceProblem(ReasonCode.CARRIER_NOT_ACCEPTED, "Building does not accept this carrier")
        signer = await self._signers.for_kid(db, who.carrier_id, target.carrier_kid)
        if signer is None:
            raise ServiceProblem(ReasonCode.FORBIDDEN, "No signing key for this carrier")
        window = _window(target.window_start, target.window_end)
        if not window.is_open(now.astimezone(self._zone)):
            raise ServiceProblem(
                ReasonCode.OUTSIDE_DELIVERY_WINDOW,
                "Outside the delivery window",
                f"this stop accepts deliveries {window.start:%H:%M}-{window.end:%H:%M}",
            )
        claims = GrantClaims.for_delivery(
            issuer=signer.carrier_id,
            # The building-scoped pseudonym: a door (or a sniffer) never learns the driver id.
            subject=self._audit.driver_ref(building_id, who.driver_id),
            door_id=door_id,
            stop_id=stop_id,
            package_id=target.package_id,
            carrier=who.carrier_id,
            confirmation_key=facts.handheld_public_key,
            grant_id=os.urandom(16),
            now=int(now.timestamp()),
            lifetime=self.lifetime_s,
        )
        token = issue_grant(claims, signer.private_key, signer.kid)
        expires_at = datetime.fromtimestamp(claims.expires_at, now.tzinfo)
        await grants.record_grant(
            db,
            grants.GrantRecord(
                claims.grant_id.hex(), who.driver_id, who.carrier_id, handheld_key_id, route_id, stop_id, door_id,
                claims.package_id, now.isoformat(), expires_at.isoformat(),
            ),
        )  # fmt: skip
        return IssuedGrant(token, claims.grant_id, door_id, expires_at)
