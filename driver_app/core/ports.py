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
        DeliveryConfirmation,
        DeliveryResponse,
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

    async def request_grant(self, request: GrantRequest) -> GrantResponse: ...

    async def upload_receipts(self, receipts: Sequence[bytes]) -> ReceiptUploadResponse: ...

    async def confirm_delivery(self, confirmation: DeliveryConfirmation) -> DeliveryResponse: ...


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
    ) -> DoorOutcome:
        """Connect, read the challenge, write `make_request(challenge)`, await the result.

        The request is built by the core (it holds the grant and the handheld key), so the link never
        sees a secret. Raises `DoorUnreachable` when the door is not found or the link drops.
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
class OutboxItem:
    item_id: int
    kind: str  # an OutboxKind value
    key: str  # idempotency key: receipt hash or delivery id
    payload: bytes


class Outbox(Protocol):
    """Durable queue of what must reach the server; `put` returns only once the item is on disk.

    Putting an item whose (kind, key) is already queued is a no-op, so retries never duplicate.
    """

    def put(self, kind: str, key: str, payload: bytes) -> None: ...

    def pending(self, limit: int = 100) -> list[OutboxItem]: ...

    def mark_sent(self, item_ids: Sequence[int]) -> None: ...

    def size(self) -> int: ...


class Clock(Protocol):
    def now(self) -> float:
        """Wall-clock seconds since the epoch (for timestamps sent to the server)."""
        ...

    def monotonic(self) -> float:
        """Seconds for measuring durations."""
        ...
