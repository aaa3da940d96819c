"""The grant gate: the one place that decides whether a driver gets a door grant.

Checks, in order: rate limit; the handheld key is the driver's and not revoked; the driver has a
route today with this stop (another driver's stop and a missing stop get the same answer, so ids
cannot be probed); the stop is not completed; the scanned barcode is one of the stop's packages;
the door belongs to the stop's building; the building accepts the driver's carrier; the delivery
window is open. Every decision, granted or refused, becomes an audit event with its reason code.

A request may carry an idempotency key (the `Idempotency-Key` header): the first grant issued
under it is stored with a hash of the request, and a retry with the same key and the same request
gets that very grant back (no second live grant for one scan), while the same key with another
request is a `conflict`. Refusals are not stored: a retry is judged afresh.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mock_building.scenario.loader import DeliveryWindow
from mock_building.service.audit import AuditKind, AuditLog
from mock_building.service.auth import DriverIdentity
from mock_building.service.db import Store
from mock_building.service.problems import ServiceProblem
from mock_building.service.ratelimit import RateLimiter
from mock_building.service.seed import route_id_for
from protocol.grant import DEFAULT_LIFETIME, GrantClaims, issue_grant
from protocol.reasons import ReasonCode

__all__ = ["NOT_ON_ROUTE", "CarrierSigner", "GrantGate", "IssuedGrant", "today_route_id"]


@dataclass(frozen=True)
class CarrierSigner:
    """A carrier's grant-signing key; the carrier id is also the grant's issuer."""

    carrier_id: str
    kid: bytes
    private_key: Ed25519PrivateKey


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


class GrantGate:
    def __init__(
        self,
        store: Store,
        audit: AuditLog,
        limiter: RateLimiter,
        signers: Mapping[str, CarrierSigner],
        *,
        zone: ZoneInfo,
        lifetime_s: int = DEFAULT_LIFETIME,
    ) -> None:
        self._store = store
        self._audit = audit
        self._limiter = limiter
        self._signers = signers
        self._zone = zone
        self.lifetime_s = lifetime_s

    def request(
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
        """The grant, and whether it was issued now (False: the replay of an earlier one with the same key)."""
        # Unit separators keep the fields apart: ("a", "bc") and ("ab", "c") hash differently.
        body_hash = hashlib.sha256(
            f"{stop_id}\x1f{door_id}\x1f{barcode.strip()}\x1f{handheld_key_id}".encode()
        ).digest()
        if idempotency_key is not None:
            earlier = self._replay(who.driver_id, idempotency_key, body_hash)
            if earlier is not None:
                return earlier, False
        # Filled in as the decision learns more, so a refusal is audited with what was known then.
        context: dict[str, str | None] = {"carrier_id": who.carrier_id, "driver_id": who.driver_id}
        try:
            with self._store.transaction() as db:
                grant = self._decide(who, stop_id, door_id, barcode, handheld_key_id, now, context)
                self._store.run(
                    self._audit.record(
                        self._store.executor,
                        at=now,
                        kind=AuditKind.GRANT,
                        outcome="grant_issued",
                        reason=ReasonCode.OK.slug,
                        grant_id=grant.grant_id.hex(),
                        **context,
                    )
                )
                if idempotency_key is not None:
                    db.execute(
                        "INSERT INTO grant_requests (driver_id, idempotency_key, body_hash, grant_id, token,"
                        " created_at) VALUES (?, ?, ?, ?, ?, ?)",
                        (
                            who.driver_id,
                            idempotency_key,
                            body_hash,
                            grant.grant_id.hex(),
                            grant.token,
                            now.isoformat(),
                        ),
                    )
        except ServiceProblem as problem:
            self._store.run(
                self._audit.record(
                    self._store.executor,
                    at=now,
                    kind=AuditKind.GRANT,
                    outcome="grant_refused",
                    reason=problem.code.slug,
                    **context,
                )
            )
            raise
        return grant, True

    def _replay(self, driver_id: str, key: str, body_hash: bytes) -> IssuedGrant | None:
        row = self._store.conn.execute(
            "SELECT r.body_hash, r.token, g.id, g.door_id, g.expires_at FROM grant_requests r"
            " JOIN grants g ON g.id = r.grant_id WHERE r.driver_id = ? AND r.idempotency_key = ?",
            (driver_id, key),
        ).fetchone()
        if row is None:
            return None
        if bytes(row["body_hash"]) != body_hash:
            raise ServiceProblem(
                ReasonCode.CONFLICT,
                "Idempotency key reused",
                "this Idempotency-Key was used for another request",
            )
        return IssuedGrant(
            bytes(row["token"]),
            bytes.fromhex(row["id"]),
            row["door_id"],
            datetime.fromisoformat(row["expires_at"]),
        )

    def _decide(
        self,
        who: DriverIdentity,
        stop_id: str,
        door_id: str,
        barcode: str,
        handheld_key_id: str,
        now: datetime,
        context: dict[str, str | None],
    ) -> IssuedGrant:
        db = self._store.conn
        if not self._limiter.allow(who.driver_id, now):
            retry = self._limiter.retry_after(who.driver_id, now)
            raise ServiceProblem(
                ReasonCode.RATE_LIMITED,
                "Too many grant requests",
                f"try again in {retry} s",
                headers={"Retry-After": str(retry)},
            )
        handheld = db.execute(
            "SELECT public_key, revoked_at FROM handhelds WHERE key_id = ? AND driver_id = ?",
            (handheld_key_id, who.driver_id),
        ).fetchone()
        if handheld is None:
            raise ServiceProblem(
                ReasonCode.UNKNOWN_HANDHELD, "Unknown handheld", "register this handheld's key first"
            )
        if handheld["revoked_at"] is not None:
            raise ServiceProblem(
                ReasonCode.REVOKED, "Handheld revoked", "this handheld's key has been revoked"
            )
        route_id = today_route_id(who.driver_id, now, self._zone)
        stop = db.execute(
            "SELECT building_id, completed_at, window_start, window_end FROM stops WHERE route_id = ? AND id = ?",
            (route_id, stop_id),
        ).fetchone()
        if stop is None:
            raise ServiceProblem(*NOT_ON_ROUTE)
        building_id = stop["building_id"]
        door = db.execute(
            "SELECT 1 FROM doors WHERE id = ? AND building_id = ?", (door_id, building_id)
        ).fetchone()
        # The door is named in the audit event only once it is known to be one of this building's.
        context.update(building_id=building_id, stop_id=stop_id, door_id=door_id if door else None)
        if stop["completed_at"] is not None:
            raise ServiceProblem(ReasonCode.STOP_COMPLETED, "Stop already completed")
        package = db.execute(
            "SELECT id FROM packages WHERE route_id = ? AND stop_id = ? AND barcode = ?",
            (route_id, stop_id, barcode.strip()),
        ).fetchone()
        if package is None:
            raise ServiceProblem(ReasonCode.PACKAGE_NOT_FOR_STOP, "Parcel is not for this stop")
        if door is None:
            raise ServiceProblem(ReasonCode.DOOR_NOT_FOR_STOP, "Door is not at this stop's building")
        accepted = db.execute(
            "SELECT 1 FROM building_carriers WHERE building_id = ? AND carrier_id = ?",
            (building_id, who.carrier_id),
        ).fetchone()
        if accepted is None:
            raise ServiceProblem(ReasonCode.CARRIER_NOT_ACCEPTED, "Building does not accept this carrier")
        signer = self._signers.get(who.carrier_id)
        if signer is None:
            raise ServiceProblem(ReasonCode.FORBIDDEN, "No signing key for this carrier")
        start, end = (
            time.fromisoformat(t) if t else None for t in (stop["window_start"], stop["window_end"])
        )
        window = DeliveryWindow(start=start, end=end)
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
            package_id=package["id"],
            carrier=who.carrier_id,
            confirmation_key=bytes(handheld["public_key"]),
            grant_id=os.urandom(16),
            now=int(now.timestamp()),
            lifetime=self.lifetime_s,
        )
        token = issue_grant(claims, signer.private_key, signer.kid)
        expires_at = datetime.fromtimestamp(claims.expires_at, now.tzinfo)
        db.execute(
            "INSERT INTO grants (id, driver_id, carrier_id, handheld_key_id, route_id, stop_id, door_id, package_id,"
            " issued_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                claims.grant_id.hex(),
                who.driver_id,
                who.carrier_id,
                handheld_key_id,
                route_id,
                stop_id,
                door_id,
                claims.package_id,
                now.isoformat(),
                expires_at.isoformat(),
            ),
        )
        return IssuedGrant(token, claims.grant_id, door_id, expires_at)
