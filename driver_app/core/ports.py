"""The small interfaces through which the workflow core reaches the world.

Adapters implement them with httpx, bleak, OpenCV + pyzbar, keyring and SQLite; tests implement them
with fakes. Every port raises only `WorkflowError` subclasses (see `errors`), translated at the adapter
edge from whatever the underlying library raised.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from protocol.api import (
        Delivery,
        DeliveryConfirmation,
        DoorUpkeep,
        GrantRequest,
        GrantResponse,
        ReceiptUploadResponse,
        Route,
        TokenResponse,
    )


class ScanSource(StrEnum):
    CAMERA = "camera"
    WEDGE = "wedge"
    MANUAL = "manual"


@dataclass(frozen=True)
class Scan:
    """One confirmed barcode read, from the camera, a keyboard-wedge scanner or manual entry.

    A camera frame often shows a label's other symbols too (a 2D routing code beside the 1D
    tracking code): their texts travel in `others`, so the core can pick the symbol that is a
    parcel on the route instead of calling the label unknown because of the wrong one.
    """

    text: str
    source: str  # a ScanSource value
    symbology: str | None = None
    others: tuple[str, ...] = ()


class BarcodeSource(Protocol):
    """Frames in, confirmed reads out (the camera path; wedge and manual entry feed the core directly)."""

    async def next_scan(self, timeout: float) -> Scan | None: ...

    async def close(self) -> None: ...


class AccessClient(Protocol):
    """The access service's HTTP API, with the driver's tokens handled inside the adapter."""

    async def sign_in(self, driver_id: str, password: str) -> TokenResponse: ...

    async def resume(self, refresh_token: str) -> TokenResponse: ...

    async def register_handheld(self, public_key: bytes) -> bytes:
        """Register the raw Ed25519 public key; returns the key id to quote in grant requests."""
        ...

    async def today_route(self) -> Route: ...

    async def request_grant(
        self, request: GrantRequest, *, idempotency_key: str | None = None
    ) -> GrantResponse:
        """`idempotency_key`: one per scan attempt, the same for its retries (no second grant)."""
        ...

    async def sign_out(self, refresh_token: str | None = None) -> None:
        """End the session at the service (by the tokens held, or the given refresh token)."""
        ...

    async def upload_receipts(self, receipts: Sequence[bytes]) -> ReceiptUploadResponse: ...

    async def confirm_delivery(self, confirmation: DeliveryConfirmation) -> Delivery: ...


@dataclass(frozen=True)
class NearbyDoor:
    door_id: str
    rssi: int


class DoorPhase(StrEnum):
    """Progress names reported by `DoorLink.unlock` while it works."""

    CONNECTING = "connecting"
    VERIFYING = "verifying"


@dataclass(frozen=True)
class DoorOutcome:
    """What the door said about one unlock request, with its signed receipt to relay."""

    door_id: str
    accepted: bool
    reason: str  # the protocol's stable snake_case reason code (ReasonCode.slug)
    receipt: bytes | None
    open_seconds: float | None = None  # how long the door holds open, when the link knows it
    backlog: tuple[bytes, ...] = ()
    """Older receipts of the door the service was missing, read on this link for the outbox (SPEC 7)."""


class DoorLink(Protocol):
    """BLE to the door controllers: find doors by advertisement, then one unlock per connection."""

    async def find_doors(self, door_ids: Sequence[str], timeout: float) -> list[NearbyDoor]:
        """Doors among `door_ids` heard within `timeout`, strongest first."""
        ...

    async def unlock(
        self,
        door_id: str,
        make_request: Callable[[bytes], bytes],
        on_phase: Callable[[DoorPhase], None],
        upkeep: DoorUpkeep | None = None,
    ) -> DoorOutcome:
        """Connect, read the challenge, write `make_request(challenge)`, await the result.

        The request is built by the core (it holds the grant and the handheld key), so the link never
        sees a secret. Raises `DoorUnreachable` when the door is not found or the link drops. With
        `upkeep`, the link first relays its signed statements and afterwards reads the receipts the
        service is missing (SPEC section 14); failing at either never fails the unlock.
        """
        ...


class CredentialStore(Protocol):
    """Where the refresh token and the handheld's private key live (the OS keyring in production)."""

    @property
    def description(self) -> str: ...

    @property
    def persistent(self) -> bool: ...

    def get(self, name: str) -> bytes | None: ...

    def put(self, name: str, secret: bytes) -> None: ...

    def delete(self, name: str) -> None: ...


class OutboxKind(StrEnum):
    RECEIPT = "receipt"
    DELIVERY = "delivery"


@dataclass(frozen=True)
class OutboxOwner:
    """Who queued an item: it is only ever sent while this driver is signed in.

    A handheld is shared (driver A queues with no signal and quits, driver B signs in): an item sent
    under another driver's session would be refused and lost, or worse, recorded as theirs. The
    handheld key is recorded for diagnostics and export but does not gate sending: a restart with
    memory-only credentials (demo, QA runner) registers a new key, and the same driver must still be
    able to send what the killed run queued.
    """

    driver_id: str
    session_key: str  # base64url id of the handheld key the session registered


class OutboxState(StrEnum):
    PENDING = "pending"  # to be sent (by its owner)
    HELD = "held"  # the service refused it: kept with the reason until someone retries or exports it


@dataclass(frozen=True)
class OutboxItem:
    item_id: int
    kind: str  # an OutboxKind value
    key: str  # idempotency key: receipt hash or delivery id
    payload: bytes
    owner: OutboxOwner | None = None  # None only for items queued before owners were recorded
    state: str = OutboxState.PENDING  # an OutboxState value
    reason: str | None = None  # why it is held, or why the last attempt failed
    attempts: int = 0  # failed attempts so far


class Outbox(Protocol):
    """Durable queue of what must reach the server; `put` returns only once the item is on disk.

    Putting an item whose (kind, key) is already queued is a no-op, so retries never duplicate.
    Nothing leaves it except by `mark_sent`: a refused item is held, never deleted.
    """

    def put(self, kind: str, key: str, payload: bytes, owner: OutboxOwner) -> None: ...

    def pending(self, owner: OutboxOwner, limit: int = 100) -> list[OutboxItem]:
        """Pending items `owner`'s driver may send, those with the fewest failed attempts first."""
        ...

    def mark_sent(self, item_ids: Sequence[int]) -> None: ...

    def hold(self, item_id: int, reason: str) -> None:
        """The service refused the item for good: keep it, visibly, with the reason."""
        ...

    def defer(self, item_id: int, reason: str) -> None:
        """One more failed attempt: the item goes behind the others, still pending."""
        ...

    def release(self, item_ids: Sequence[int] | None = None) -> int:
        """Held items (all when None) back to pending; how many were released."""
        ...

    def items(self, state: str | None = None) -> list[OutboxItem]:
        """Every item (of one state), oldest first: for diagnostics and export."""
        ...

    def count(self, *, state: str | None = None, owner: OutboxOwner | None = None) -> int:
        """How many items, narrowed by state and by the owner's driver (None: everyone's)."""
        ...

    def size(self) -> int:
        """Everything not yet accepted by the service: pending and held, every owner's."""
        ...


class Clock(Protocol):
    def now(self) -> float:
        """Wall-clock seconds since the epoch (for timestamps sent to the server)."""
        ...

    def monotonic(self) -> float:
        """Seconds for measuring durations."""
        ...
