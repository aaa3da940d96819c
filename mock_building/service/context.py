"""Everything a request handler needs, built once per app and reached through FastAPI dependencies.

The dependencies are `async def` on purpose: FastAPI runs plain `def` dependencies in a thread
pool, and the service's one SQLite connection must only be used from the event loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from mock_building.service.alerts import AlertBook
from mock_building.service.audit import AuditLog
from mock_building.service.auth import DriverIdentity, Sessions, bearer_token
from mock_building.service.clock import Clock
from mock_building.service.deliveries import Deliveries
from mock_building.service.faults import FaultInjector
from mock_building.service.gate import GrantGate
from mock_building.service.handhelds import Handhelds
from mock_building.service.receipts import ReceiptIngest
from mock_building.service.revocations import Revocations
from mock_building.service.storage import Database
from mock_building.service.throttle import ACCOUNT_THROTTLE, CLIENT_THROTTLE, ThrottlePolicy

__all__ = ["Bearer", "CurrentDriver", "OptionalBearer", "Service", "ServiceConfig", "ServiceDep"]


@dataclass(frozen=True)
class ServiceConfig:
    """Tunables of one service instance; secrets are mock-grade (see mock_building.scenario.keys)."""

    admin_token: str = field(repr=False)
    audit_secret: bytes = field(repr=False)
    timezone: str = "UTC"
    access_ttl_s: int = 900
    refresh_ttl_s: int = 12 * 3600
    grant_lifetime_s: int = 120
    grant_rate_limit: int = 30
    grant_rate_window_s: float = 60.0
    fault_seed: int = 0
    max_handheld_keys: int = 3
    """Live handheld keys per driver; registering one more retires the oldest."""
    max_body_bytes: int = 64 * 1024
    """Request bodies above this are refused with 413 before they are read."""
    account_throttle: ThrottlePolicy = ACCOUNT_THROTTLE
    client_throttle: ThrottlePolicy = CLIENT_THROTTLE
    gap_alert_after_s: int = 15 * 60
    """A receipt gap still open this long after the service learned of it becomes an alert."""
    grant_receipt_margin_s: int = 15 * 60
    """A grant no receipt quotes this long after its expiry becomes an alert."""

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class Service:
    config: ServiceConfig
    clock: Clock
    database: Database
    sessions: Sessions
    handhelds: Handhelds
    gate: GrantGate
    receipts: ReceiptIngest
    deliveries: Deliveries
    revocations: Revocations
    audit: AuditLog
    alerts: AlertBook
    faults: FaultInjector


async def _service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


ServiceDep = Annotated[Service, Depends(_service)]
_bearer_scheme = HTTPBearer(
    auto_error=False, description="access token from sign-in, or an admin/manager token"
)


def _required_token(credentials: HTTPAuthorizationCredentials | None) -> str:
    return bearer_token(f"{credentials.scheme} {credentials.credentials}" if credentials else None)


async def _bearer(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer_scheme)],
) -> str:
    return _required_token(credentials)


Bearer = Annotated[str, Depends(_bearer)]


async def _optional_bearer(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer_scheme)],
) -> str | None:
    return bearer_token(f"{credentials.scheme} {credentials.credentials}") if credentials else None


OptionalBearer = Annotated[str | None, Depends(_optional_bearer)]


async def _current_driver(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer_scheme)],
) -> DriverIdentity:
    """Straight on the bearer scheme and the request, not on `ServiceDep` and `Bearer`: every driver
    call resolves this, and each nested dependency is a FastAPI solve of its own."""
    service: Service = request.app.state.service
    return await service.sessions.authenticate(_required_token(credentials), service.clock.now())


CurrentDriver = Annotated[DriverIdentity, Depends(_current_driver)]
