"""Driver sessions (opaque bearer tokens, stored hashed) and admin/manager checks.

Access tokens are short-lived; a refresh token is single-use and rotates. Every sign-in starts a
token family; presenting a refresh token that was already used ends the whole family (RFC 9700
§4.14.2), so whichever of the thief and the real handheld refreshes second is caught, and both
must sign in again. Sign-out ends the family too. Sign-in goes through the throttle first.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from mock_building.service.db import Store
from mock_building.service.passwords import hash_password, verify_password
from mock_building.service.problems import ServiceProblem
from mock_building.service.seed import token_hash
from mock_building.service.throttle import SignInThrottle
from protocol.reasons import ReasonCode

__all__ = ["DriverIdentity", "Sessions", "TokenPair", "bearer_token", "check_admin", "check_manager"]


_DUMMY_HASH = hash_password("no such driver")


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int


@dataclass(frozen=True)
class DriverIdentity:
    driver_id: str
    carrier_id: str
    name: str


def _unauthenticated(detail: str, reason: ReasonCode = ReasonCode.NOT_AUTHENTICATED) -> ServiceProblem:
    return ServiceProblem(reason, "Not signed in", detail, headers={"WWW-Authenticate": "Bearer"})


def _check_session(expires_epoch: float, revoked_at: str | None, now: datetime, expired: str) -> None:
    """A session token is usable until it expires, and only while its driver is not revoked."""
    if expires_epoch <= now.timestamp():
        raise _unauthenticated(expired, ReasonCode.TOKEN_EXPIRED)
    if revoked_at is not None:
        raise ServiceProblem(ReasonCode.REVOKED, "Driver revoked")


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer ...` header, or a not_authenticated problem."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthenticated("send Authorization: Bearer <access token>")
    return token.strip()


class Sessions:
    def __init__(
        self, store: Store, throttle: SignInThrottle, *, access_ttl_s: int, refresh_ttl_s: int
    ) -> None:
        self._store = store
        self._throttle = throttle
        self.access_ttl_s = access_ttl_s
        self.refresh_ttl_s = refresh_ttl_s

    async def sign_in(self, driver_id: str, password: str, now: datetime, *, client: str) -> TokenPair:
        """`client` is the caller's network address: guesses are throttled per account and per client."""
        self._throttle.check(driver_id, client, now)
        row = self._store.conn.execute(
            "SELECT password_hash, revoked_at FROM drivers WHERE id = ?", (driver_id,)
        ).fetchone()
        # scrypt is deliberately slow: keep it off the event loop. Unknown drivers cost the same.
        stored = row["password_hash"] if row is not None else _DUMMY_HASH
        if not await asyncio.to_thread(verify_password, password, stored) or row is None:
            self._throttle.failed(driver_id, client, now)
            raise ServiceProblem(ReasonCode.INVALID_CREDENTIALS, "Wrong driver id or password")
        if row["revoked_at"] is not None:
            raise ServiceProblem(
                ReasonCode.REVOKED, "Driver revoked", "this driver's access has been revoked"
            )
        self._throttle.succeeded(driver_id)
        with self._store.transaction() as db:
            family = secrets.token_urlsafe(16)
            db.execute(
                "INSERT INTO session_families (id, driver_id, created_at) VALUES (?, ?, ?)",
                (family, driver_id, now.isoformat()),
            )
            return self._issue(driver_id, family, now)

    def refresh(self, refresh_token: str, now: datetime) -> TokenPair:
        with self._store.transaction() as db:
            row = db.execute(
                "SELECT s.driver_id, s.family_id, s.refresh_expires_epoch, s.refresh_used_at, f.ended_at,"
                " d.revoked_at FROM sessions s JOIN drivers d ON d.id = s.driver_id"
                " JOIN session_families f ON f.id = s.family_id WHERE s.refresh_hash = ?",
                (token_hash(refresh_token),),
            ).fetchone()
            if row is None or row["ended_at"] is not None:
                raise _unauthenticated("unknown refresh token, or its session has ended: sign in again")
            if row["refresh_used_at"] is None:
                db.execute(
                    "UPDATE sessions SET refresh_used_at = ? WHERE refresh_hash = ?",
                    (now.isoformat(), token_hash(refresh_token)),
                )
                _check_session(
                    row["refresh_expires_epoch"],
                    row["revoked_at"],
                    now,
                    "refresh token expired: sign in again",
                )
                return self._issue(row["driver_id"], row["family_id"], now)
            # Committed before refusing: the family stays ended whatever the caller does next.
            self._end_family(row["family_id"], "refresh token reused", now)
        raise _unauthenticated(
            "this refresh token was already used: every session of this sign-in has ended",
            ReasonCode.REFRESH_TOKEN_REUSED,
        )

    def sign_out(self, access_token: str | None, now: datetime, *, refresh_token: str | None = None) -> None:
        """End the family of these tokens: them, and every token issued from the same sign-in."""
        with self._store.transaction() as db:
            rows = db.execute(
                "SELECT family_id FROM sessions WHERE access_hash = ? OR refresh_hash = ?",
                (token_hash(access_token or ""), token_hash(refresh_token or "")),
            ).fetchall()
            for row in rows:
                self._end_family(row["family_id"], "signed out", now)

    def _end_family(self, family_id: str, reason: str, now: datetime) -> None:
        self._store.conn.execute(
            "UPDATE session_families SET ended_at = COALESCE(ended_at, ?), end_reason = COALESCE(end_reason, ?)"
            " WHERE id = ?",
            (now.isoformat(), reason, family_id),
        )

    def _issue(self, driver_id: str, family_id: str, now: datetime) -> TokenPair:
        pair = TokenPair(secrets.token_urlsafe(32), secrets.token_urlsafe(32), self.access_ttl_s)
        self._store.conn.execute(
            "INSERT INTO sessions (access_hash, refresh_hash, driver_id, family_id, access_expires_epoch,"
            " refresh_expires_epoch) VALUES (?, ?, ?, ?, ?, ?)",
            (
                token_hash(pair.access_token),
                token_hash(pair.refresh_token),
                driver_id,
                family_id,
                now.timestamp() + self.access_ttl_s,
                now.timestamp() + self.refresh_ttl_s,
            ),
        )
        return pair

    def authenticate(self, access_token: str, now: datetime) -> DriverIdentity:
        row = self._store.conn.execute(
            "SELECT s.access_expires_epoch, d.id, d.carrier_id, d.name, d.revoked_at FROM sessions s"
            " JOIN drivers d ON d.id = s.driver_id JOIN session_families f ON f.id = s.family_id"
            " WHERE s.access_hash = ? AND f.ended_at IS NULL",
            (token_hash(access_token),),
        ).fetchone()
        if row is None:
            raise _unauthenticated("unknown access token, or its session has ended")
        _check_session(
            row["access_expires_epoch"], row["revoked_at"], now, "access token expired: refresh it"
        )
        return DriverIdentity(row["id"], row["carrier_id"], row["name"])


def check_admin(token: str, admin_token: str) -> None:
    if not hmac.compare_digest(token.encode(), admin_token.encode()):
        raise ServiceProblem(ReasonCode.FORBIDDEN, "Admin token required")


def check_manager(store: Store, token: str, building_id: str, admin_token: str) -> None:
    """The building's manager token, or the admin token, may read a building's audit feed."""
    if hmac.compare_digest(token.encode(), admin_token.encode()):
        return
    row = store.conn.execute(
        "SELECT manager_token_hash FROM buildings WHERE id = ?", (building_id,)
    ).fetchone()
    if row is None or row[0] is None or not hmac.compare_digest(row[0], token_hash(token)):
        raise ServiceProblem(ReasonCode.FORBIDDEN, "Not a manager of this building")
