"""Fake ports for the workflow core's unit tests: scripted, recording, and checking what they receive."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Sequence
from typing import Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from driver_app.core.errors import AccessRefused, WorkflowError
from driver_app.core.ports import Clock, DoorOutcome, DoorPhase, NearbyDoor
from driver_app.core.state import RouteState, StopPhase
from protocol.api import (
    Building,
    Delivery,
    DeliveryConfirmation,
    DeliveryWindow,
    Door,
    DoorUpkeep,
    GrantRequest,
    GrantResponse,
    Package,
    ReceiptResult,
    ReceiptStatus,
    ReceiptUploadResponse,
    Route,
    Stop,
    StopStatus,
    TokenResponse,
)
from protocol.grant import GrantClaims, issue_grant
from protocol.keys import TrustedIssuerKey, TrustStore, public_key_bytes
from protocol.replay import InMemoryReplayCache
from protocol.verify import verify_unlock

DAY = dt.date(2026, 11, 23)
CARRIER_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
CARRIER_KID = b"test-kid"
TRUST = TrustStore.of([TrustedIssuerKey(CARRIER_KID, "parcelco", public_key_bytes(CARRIER_KEY))])
_WINDOW = DeliveryWindow(
    start=dt.datetime(2026, 11, 23, 8, tzinfo=dt.UTC), end=dt.datetime(2026, 11, 23, 20, tzinfo=dt.UTC)
)


def _stop(
    stop_id: str,
    seq: int,
    address: str,
    doors: list[tuple[str, str]],
    packages: list[tuple[str, str]],
    status: StopStatus = StopStatus.PENDING,
) -> Stop:
    return Stop(
        stop_id=stop_id,
        sequence=seq,
        address=address,
        building=Building(
            building_id=f"b-{stop_id}",
            name=f"Building {seq}",
            doors=tuple(Door(door_id=d, name=n) for d, n in doors),
        ),
        window=_WINDOW,
        packages=tuple(Package(package_id=p, barcode=b) for p, b in packages),
        status=status,
    )


def demo_route() -> Route:
    """s1: two doors and two parcels; s2: one door; s3: already delivered."""
    return Route(
        route_id="r1",
        date=DAY,
        stops=(
            _stop("s2", 2, "7 Oak Ave", [("OAK-1", "Main door")], [("p3", "TRK0003")]),
            _stop(
                "s1",
                1,
                "12 Elm St",
                [("ELM-N", "North entrance"), ("ELM-S", "South entrance")],
                [("p1", "TRK0001"), ("p2", "TRK0002")],
            ),
            _stop("s3", 3, "3 Birch Rd", [("BIR-1", "Lobby")], [("p4", "TRK0004")], StopStatus.DELIVERED),
        ),
    )


class FakeClock:
    def __init__(self) -> None:
        self.wall = 1_795_000_000.0
        self.mono = 100.0

    def now(self) -> float:
        return self.wall

    def monotonic(self) -> float:
        return self.mono

    def advance(self, seconds: float) -> None:
        self.wall += seconds
        self.mono += seconds


class FakeAccess:
    """The access service: scripted failures per method name, and a record of what arrived."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.failures: dict[str, list[WorkflowError]] = {}
        self.calls: list[str] = []
        self.public_keys: list[bytes] = []
        self.refresh_tokens: set[str] = set()
        self.issued = 0
        self.upkeep: DoorUpkeep | None = None
        """What the service would have the next phone carry to the door (SPEC section 14)."""
        self.grant_requests: list[GrantRequest] = []
        self.idempotency_keys: list[str | None] = []
        self.signed_out: list[str | None] = []
        self.grants: list[GrantResponse] = []
        self.receipts: list[bytes] = []
        self.deliveries: dict[str, DeliveryConfirmation] = {}
        self.route = demo_route()

    def fail(self, method: str, *errors: WorkflowError) -> None:
        self.failures.setdefault(method, []).extend(errors)

    def _enter(self, method: str) -> None:
        self.calls.append(method)
        pending = self.failures.get(method)
        if pending:
            raise pending.pop(0)

    def _tokens(self) -> TokenResponse:
        token = f"refresh-{self.issued}"
        self.issued += 1
        self.refresh_tokens.add(token)
        return TokenResponse(access_token="access", refresh_token=token, expires_in=300)

    async def sign_in(self, driver_id: str, password: str) -> TokenResponse:
        self._enter("sign_in")
        if password != "demo-password":
            raise AccessRefused("invalid_credentials")
        return self._tokens()

    async def resume(self, refresh_token: str) -> TokenResponse:
        self._enter("resume")
        if refresh_token not in self.refresh_tokens:
            raise AccessRefused("token_expired")
        self.refresh_tokens.discard(refresh_token)
        return self._tokens()

    async def sign_out(self, refresh_token: str | None = None) -> None:
        self._enter("sign_out")
        self.signed_out.append(refresh_token)
        self.refresh_tokens.discard(refresh_token or "")

    async def register_handheld(self, public_key: bytes) -> bytes:
        self._enter("register_handheld")
        self.public_keys.append(public_key)
        return hashlib.sha256(public_key).digest()[:8]

    async def today_route(self) -> Route:
        self._enter("today_route")
        return self.route

    async def request_grant(
        self, request: GrantRequest, *, idempotency_key: str | None = None
    ) -> GrantResponse:
        self._enter("request_grant")
        self.grant_requests.append(request)
        self.idempotency_keys.append(idempotency_key)
        now = int(self.clock.now())
        claims = GrantClaims(
            issuer="parcelco",
            subject="demo",
            door_id=request.door_id,
            issued_at=now,
            not_before=now,
            expires_at=now + 120,
            grant_id=bytes([len(self.grants) + 1]) * 16,
            stop_id=request.stop_id,
            package_id="p",
            carrier="parcelco",
            confirmation_key=self.public_keys[-1],
        )
        grant = GrantResponse(
            grant=issue_grant(claims, CARRIER_KEY, CARRIER_KID),
            grant_id=claims.grant_id,
            door_id=request.door_id,
            expires_at=dt.datetime.fromtimestamp(claims.expires_at, dt.UTC),
            upkeep=self.upkeep,
        )
        self.grants.append(grant)
        return grant

    async def upload_receipts(self, receipts: Sequence[bytes]) -> ReceiptUploadResponse:
        self._enter("upload_receipts")
        results = []
        for index, receipt in enumerate(receipts):
            status = ReceiptStatus.DUPLICATE if receipt in self.receipts else ReceiptStatus.ACCEPTED
            if status is ReceiptStatus.ACCEPTED:
                self.receipts.append(receipt)
            results.append(ReceiptResult(index=index, status=status))
        return ReceiptUploadResponse(results=tuple(results))

    async def confirm_delivery(self, confirmation: DeliveryConfirmation) -> Delivery:
        self._enter("confirm_delivery")
        self.deliveries[str(confirmation.delivery_id)] = confirmation
        return Delivery(**confirmation.model_dump(), recorded_at=confirmation.delivered_at)


class SteppedClock(Clock, Protocol):
    """A clock a fake can move on: FakeClock here, or a handheld clock tied to the service's."""

    def advance(self, seconds: float) -> None: ...


class FakeDoors:
    """Doors in range with their RSSI; each unlock runs the protocol's real verifier on the request."""

    def __init__(self, clock: SteppedClock, nearby: list[NearbyDoor]) -> None:
        self.clock = clock
        self.nearby = nearby
        self.outcomes: list[DoorOutcome | WorkflowError] = []
        self.unlocked: list[str] = []
        self.replay = InMemoryReplayCache()
        self.link_seconds = 0.05
        self.upkeeps: list[DoorUpkeep | None] = []

    async def find_doors(self, door_ids: Sequence[str], timeout: float) -> list[NearbyDoor]:
        return [door for door in self.nearby if door.door_id in door_ids]

    async def unlock(
        self,
        door_id: str,
        make_request: Callable[[bytes], bytes],
        on_phase: Callable[[DoorPhase], None],
        upkeep: DoorUpkeep | None = None,
    ) -> DoorOutcome:
        self.upkeeps.append(upkeep)
        on_phase(DoorPhase.CONNECTING)
        self.clock.advance(self.link_seconds)
        challenge = hashlib.sha256(door_id.encode() + bytes([len(self.unlocked)])).digest()[:16]
        request = make_request(challenge)
        on_phase(DoorPhase.VERIFYING)
        self.clock.advance(self.link_seconds)
        scripted = self.outcomes.pop(0) if self.outcomes else None
        if isinstance(scripted, WorkflowError):
            raise scripted
        if scripted is not None:
            return scripted
        decision = verify_unlock(
            request,
            trusted_keys=TRUST,
            door_id=door_id,
            challenge=challenge,
            replay_cache=self.replay,
            now=int(self.clock.now()),
        )
        if not decision.accepted:
            return DoorOutcome(
                door_id, False, decision.reason.slug, b"receipt-" + decision.reason.slug.encode()
            )
        self.unlocked.append(door_id)
        return DoorOutcome(door_id, True, "ok", f"receipt-{len(self.unlocked)}".encode(), open_seconds=5.0)


def phase_of(state: RouteState, stop_id: str) -> StopPhase:
    """A stop's phase read afresh: a plain attribute chain keeps an earlier assert's narrowing (mypy)
    across the awaits that move the workflow on."""
    return state.stops[stop_id].phase
