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

from mock_building.service.passwords import hash_password, verify_password
from mock_building.service.problems import ServiceProblem
from mock_building.service.seed import token_hash
from mock_building.service.storage import Database, Executor, accounts
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


def _check_session(expires_epoch: float, revoked: bool, now: datetime, expired: str) -> None:
    """A session token is usable until it expires, and only while its driver is not revoked."""
    if expires_epoch <= now.timestamp():
        raise _unauthenticated(expired, ReasonCode.TOKEN_EXPIRED)
    if revoked:
        raise ServiceProblem(ReasonCode.REVOKED, "Driver revoked")


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer ...` header, or a not_authenticated problem."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthenticated("send Authorization: Bearer <access token>")
    return token.strip()


class Sessions:
    def __init__(
        self, database: Database, throttle: SignInThrottle, *, access_ttl_s: int, refresh_ttl_s: int
    ) -> None:
        self._database = database
        self._throttle = throttle
        self.access_ttl_s = access_ttl_s
        self.refresh_ttl_s = refresh_ttl_s

    async def sign_in(self, driver_id: str, password: str, now: datetime, *, client: str) -> TokenPair:
        """`client` is the caller's network address: guesses are throttled per account and per client."""
        await self._throttle.check(driver_id, client, now)
        found = await accounts.credentials(self._database, driver_id)
        # scrypt is deliberately slow: keep it off the event loop. Unknown drivers cost the same.
        stored = found.password_hash if found is not None else _DUMMY_HASH
        if not await asyncio.to_thread(verify_password, password, stored) or found is None:
            await self._throttle.failed(driver_id, client, now)
            raise ServiceProblem(ReasonCode.INVALID_CREDENTIALS, "Wrong driver id or password")
        if found.revoked:
            raise ServiceProblem(
                ReasonCode.REVOKED, "Driver revoked", "this driver's access has been revoked"
            )
        await self._throttle.succeeded(driver_id)
        async with self._database.transaction() as tx:
            family = secrets.token_urlsafe(16)
            await accounts.start_family(tx, family, driver_id, now.isoformat())
            return await self._issue(tx, driver_id, family, now)

    async def refresh(self, refresh_token: str, now: datetime) -> TokenPair:
        """Rotate: of two refreshes with one token (even on two workers) one wins, the other is reuse."""
        refresh_hash = token_hash(refresh_token)
        async with self._database.transaction() as tx:
            # Claimed first: the conditional UPDATE holds the row, so the decision is the database's.
            claimed = await accounts.claim_refresh(tx, refresh_hash, now.isoformat())
            session = await accounts.refresh_session(tx, refresh_hash)
            if session is None or session.family_ended:
                raise _unauthenticated("unknown refresh token, or its session has ended: sign in again")
            if claimed:
                _check_session(
                    session.refresh_expires_epoch,
                    session.driver_revoked,
                    now,
                    "refresh token expired: sign in again",
                )
                return await self._issue(tx, session.driver_id, session.family_id, now)
            # Committed before refusing: the family stays ended whatever the caller does next.
            await accounts.end_family(tx, session.family_id, "refresh token reused", now.isoformat())
        raise _unauthenticated(
            "this refresh token was already used: every session of this sign-in has ended",
            ReasonCode.REFRESH_TOKEN_REUSED,
        )

    async def sign_out(
        self, access_token: str | None, now: datetime, *, refresh_token: str | None = None
    ) -> None:
        """End the family of these tokens: them, and every token issued from the same sign-in."""
        async with self._database.transaction() as tx:
            families = await accounts.families_of(
                tx, token_hash(access_token or ""), token_hash(refresh_token or "")
            )
            for family_id in families:
                await accounts.end_family(tx, family_id, "signed out", now.isoformat())

    async def _issue(self, tx: Executor, driver_id: str, family_id: str, now: datetime) -> TokenPair:
        pair = TokenPair(secrets.token_urlsafe(32), secrets.token_urlsafe(32), self.access_ttl_s)
        await accounts.add_session(
            tx,
            accounts.NewSession(
                token_hash(pair.access_token),
                token_hash(pair.refresh_token),
                driver_id,
                family_id,
                now.timestamp() + self.access_ttl_s,
                now.timestamp() + self.refresh_ttl_s,
            ),
        )
        return pair

    async def authenticate(self, access_token: str, now: datetime) -> DriverIdentity:
        session = await accounts.access_session(self._database, token_hash(access_token))
        if session is None:
            raise _unauthenticated("unknown access token, or its session has ended")
        _check_session(
            session.access_expires_epoch, session.driver_revoked, now, "access token expired: refresh it"
        )
        return DriverIdentity(session.driver_id, session.carrier_id, session.name)


def check_admin(token: str, admin_token: str) -> None:
    if not hmac.compare_digest(token.encode(), admin_token.encode()):
        raise ServiceProblem(ReasonCode.FORBIDDEN, "Admin token required")


async def check_manager(database: Database, token: str, building_id: str, admin_token: str) -> None:
    """The building's manager token, or the admin token, may read a building's audit feed."""
    if hmac.compare_digest(token.encode(), admin_token.encode()):
        return
    stored = await accounts.manager_token_hash(database, building_id)
    if stored is None or not hmac.compare_digest(stored, token_hash(token)):
        raise ServiceProblem(ReasonCode.FORBIDDEN, "Not a manager of this building")
