"""HTTP API of the access service (prefix /v1), shared by the app and the mock service.

Bytes travel as base64url without padding. Errors are RFC 9457 problem documents whose
`code` is a `ReasonCode` slug. Models reject unknown fields, so a typo is an error, not
a silently ignored value; validation failures raise pydantic.ValidationError, which the
service maps to a `invalid_request` problem.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import uuid
from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    model_validator,
)

from protocol.ids import DOOR_ID_MAX, GRANT_ID_SIZE, is_door_id
from protocol.reasons import ReasonCode

__all__ = [
    "API_PREFIX",
    "HTTP_STATUS",
    "PROBLEM_MEDIA_TYPE",
    "AuditEvent",
    "B64Bytes",
    "Building",
    "Delivery",
    "DeliveryConfirmation",
    "DeliveryWindow",
    "Door",
    "DoorId",
    "DoorUpkeep",
    "GrantRequest",
    "GrantResponse",
    "HandheldKeyRegistration",
    "HandheldKeyResponse",
    "Package",
    "Problem",
    "ReceiptGap",
    "ReceiptResult",
    "ReceiptStatus",
    "ReceiptUpload",
    "ReceiptUploadResponse",
    "RefreshRequest",
    "RevocationRequest",
    "Route",
    "SignInRequest",
    "SignOutRequest",
    "Stop",
    "StopStatus",
    "TokenResponse",
    "b64url_decode",
    "b64url_encode",
]

API_PREFIX = "/v1"
PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://lobbykey.invalid/problems/"


def b64url_encode(data: bytes) -> str:
    """Base64url without padding (RFC 4648 §5)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Inverse of b64url_encode; refuses padding, other alphabets and non-canonical tails."""
    if not isinstance(text, str) or "=" in text or not text.isascii() or len(text) % 4 == 1:
        raise ValueError("not unpadded base64url")
    try:
        data = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not unpadded base64url") from None
    if b64url_encode(data) != text:
        raise ValueError("non-canonical base64url")
    return data


def _bytes_in(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    return b64url_decode(value)


def _door_id(value: str) -> str:
    if not is_door_id(value):
        raise ValueError(f"door id is 1-{DOOR_ID_MAX} characters of [A-Za-z0-9_.-]")
    return value


def _grant_id(value: bytes) -> bytes:
    if len(value) != GRANT_ID_SIZE:
        raise ValueError(f"grant id is {GRANT_ID_SIZE} bytes")
    return value


def _ed25519_public(value: bytes) -> bytes:
    if len(value) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes")
    return value


def _moment(value: dt.datetime) -> dt.datetime:
    """A time every zone can represent: far dates overflow when moved to UTC or a building's zone."""
    if not 1970 <= value.year <= 9000:
        raise ValueError("a time between the years 1970 and 9000")
    return value


B64Bytes = Annotated[
    bytes,
    BeforeValidator(_bytes_in),
    PlainSerializer(b64url_encode, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "contentEncoding": "base64url"}),
]
DoorId = Annotated[str, AfterValidator(_door_id)]
GrantId = Annotated[B64Bytes, AfterValidator(_grant_id)]
ShortText = Annotated[str, Field(min_length=1, max_length=64)]
Moment = Annotated[dt.datetime, AfterValidator(_moment)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SignInRequest(_Model):
    """POST /v1/auth/sign-in."""

    driver_id: ShortText
    password: Annotated[str, Field(min_length=1, max_length=256)]


class RefreshRequest(_Model):
    """POST /v1/auth/refresh."""

    refresh_token: Annotated[str, Field(min_length=1, max_length=512)]


class SignOutRequest(_Model):
    """POST /v1/auth/sign-out (optional body): also end the family of this refresh token."""

    refresh_token: Annotated[str, Field(min_length=1, max_length=512)]


class TokenResponse(_Model):
    """Answer to sign-in and refresh; `expires_in` is seconds of access-token validity."""

    access_token: str
    refresh_token: str
    token_type: str = "Bearer"  # noqa: S105 (the OAuth token type, not a secret)
    expires_in: Annotated[int, Field(gt=0)]


class HandheldKeyRegistration(_Model):
    """POST /v1/handheld-keys: the raw Ed25519 public key grants will be bound to (cnf)."""

    public_key: Annotated[B64Bytes, AfterValidator(_ed25519_public)]


class HandheldKeyResponse(_Model):
    """The key id to quote in grant requests (protocol.keys.derive_key_id, base64url)."""

    key_id: B64Bytes


class Door(_Model):
    door_id: DoorId
    name: ShortText


class Building(_Model):
    building_id: ShortText
    name: ShortText
    doors: tuple[Door, ...]


class DeliveryWindow(_Model):
    start: dt.datetime
    end: dt.datetime


class Package(_Model):
    package_id: Annotated[str, Field(min_length=1, max_length=40)]
    barcode: Annotated[str, Field(min_length=1, max_length=128)]
    unit: ShortText | None = None


class StopStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class Stop(_Model):
    stop_id: Annotated[str, Field(min_length=1, max_length=32)]
    sequence: Annotated[int, Field(ge=1)]
    address: Annotated[str, Field(min_length=1, max_length=200)]
    building: Building
    window: DeliveryWindow
    packages: tuple[Package, ...]
    status: StopStatus = StopStatus.PENDING


class Route(_Model):
    """GET /v1/routes/today: the driver's stops in delivery order."""

    route_id: ShortText
    date: dt.date
    stops: tuple[Stop, ...]


class GrantRequest(_Model):
    """POST /v1/grants: the scanned barcode proves the package is in hand at this stop."""

    stop_id: Annotated[str, Field(min_length=1, max_length=32)]
    door_id: DoorId
    barcode: Annotated[str, Field(min_length=1, max_length=128)]
    handheld_key_id: B64Bytes


class DoorUpkeep(_Model):
    """GET /v1/doors/{door_id}/upkeep: what any phone should carry to the door (SPEC section 14).

    `statements` are signed maintenance statements to write to the door before unlocking (empty:
    nothing pending, the unlock stays at 2 round trips); `receipts_through` is the highest seq
    such that the service holds every receipt of the door up to it (None: none yet), so the app
    reads only receipts the service is missing.
    """

    door_id: DoorId
    statements: Annotated[tuple[B64Bytes, ...], Field(max_length=23)] = ()
    receipts_through: Annotated[int, Field(ge=0)] | None = None


class GrantResponse(_Model):
    grant: B64Bytes
    grant_id: GrantId
    door_id: DoorId
    expires_at: dt.datetime
    upkeep: DoorUpkeep | None = None
    """The grant's door's pending upkeep, so a delivering phone needs no extra request."""


class ReceiptUpload(_Model):
    """POST /v1/receipts: door receipts relayed by the app, as read from the door."""

    receipts: Annotated[tuple[B64Bytes, ...], Field(min_length=1, max_length=256)]


class ReceiptStatus(StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


class ReceiptResult(_Model):
    """Outcome for the receipt at `index` of the upload; `reason` is a ReasonCode slug."""

    index: Annotated[int, Field(ge=0)]
    status: ReceiptStatus
    reason: str | None = None
    door_id: DoorId | None = None
    seq: Annotated[int, Field(ge=0)] | None = None


class ReceiptGap(_Model):
    """Receipts first_seq..last_seq (inclusive) of a door have not been seen yet."""

    door_id: DoorId
    first_seq: Annotated[int, Field(ge=0)]
    last_seq: Annotated[int, Field(ge=0)]


class ReceiptUploadResponse(_Model):
    results: tuple[ReceiptResult, ...]
    gaps: tuple[ReceiptGap, ...] = ()


class DeliveryConfirmation(_Model):
    """POST /v1/deliveries: idempotent by the client-generated `delivery_id`."""

    delivery_id: uuid.UUID
    stop_id: Annotated[str, Field(min_length=1, max_length=32)]
    package_ids: Annotated[
        tuple[Annotated[str, Field(min_length=1, max_length=40)], ...], Field(min_length=1)
    ]
    grant_id: GrantId | None = None
    delivered_at: Moment


class Delivery(DeliveryConfirmation):
    """A recorded delivery; `recorded_at` is the service's clock.

    `delivered_at` is the time the service accepted, judged by its own clock and the grant;
    `claimed_delivered_at` is what the handheld's clock said, kept as a claim.
    """

    recorded_at: dt.datetime
    claimed_delivered_at: dt.datetime | None = None


class AuditEvent(_Model):
    """GET /v1/audit (building managers): one door event with a pseudonymous driver reference.

    `driver_ref` is None when no driver is known: a door event naming no grant the service issued,
    or an alert (outcome `alert_raised`, reason = the alert kind; details at GET /v1/alerts).
    """

    time: dt.datetime
    building_id: ShortText
    door_id: DoorId
    stop_id: str | None = None
    carrier: str | None = None
    outcome: str
    reason: str
    driver_ref: ShortText | None = None


class RevocationRequest(_Model):
    """POST /v1/revocations: stop a grant or a lost handheld key from being used or issued to."""

    grant_id: GrantId | None = None
    handheld_key_id: B64Bytes | None = None
    reason: Annotated[str, Field(min_length=1, max_length=200)]

    @model_validator(mode="after")
    def _exactly_one_target(self) -> RevocationRequest:
        if (self.grant_id is None) == (self.handheld_key_id is None):
            raise ValueError("name exactly one of grant_id or handheld_key_id")
        return self


HTTP_STATUS: Mapping[ReasonCode, int] = MappingProxyType(
    {
        ReasonCode.INVALID_REQUEST: 400,
        ReasonCode.MALFORMED: 400,
        ReasonCode.NOT_AUTHENTICATED: 401,
        ReasonCode.TOKEN_EXPIRED: 401,
        ReasonCode.INVALID_CREDENTIALS: 401,
        ReasonCode.FORBIDDEN: 403,
        ReasonCode.CARRIER_NOT_ACCEPTED: 403,
        ReasonCode.REVOKED: 403,
        ReasonCode.UNKNOWN_HANDHELD: 403,
        ReasonCode.NOT_FOUND: 404,
        ReasonCode.UNKNOWN_DOOR: 404,
        ReasonCode.CONFLICT: 409,
        ReasonCode.STOP_COMPLETED: 409,
        ReasonCode.ALREADY_DELIVERED: 409,
        ReasonCode.NOT_ON_ROUTE: 422,
        ReasonCode.WEAK_KEY: 422,
        ReasonCode.PACKAGE_NOT_FOR_STOP: 422,
        ReasonCode.DOOR_NOT_FOR_STOP: 422,
        ReasonCode.OUTSIDE_DELIVERY_WINDOW: 422,
        ReasonCode.RATE_LIMITED: 429,
        ReasonCode.ACCOUNT_LOCKED: 429,
        ReasonCode.REFRESH_TOKEN_REUSED: 401,
        ReasonCode.REQUEST_TOO_LARGE: 413,
        ReasonCode.INTERNAL_ERROR: 500,
        ReasonCode.SERVICE_UNAVAILABLE: 503,
    }
)


class Problem(_Model):
    """RFC 9457 problem details; `code` is the stable ReasonCode slug clients switch on."""

    model_config = ConfigDict(frozen=True, extra="allow")

    type: str = "about:blank"
    title: str
    status: Annotated[int, Field(ge=400, le=599)]
    detail: str | None = None
    code: str
    instance: str | None = None

    @classmethod
    def of(
        cls, reason: ReasonCode, title: str, detail: str | None = None, instance: str | None = None
    ) -> Problem:
        """A problem for `reason` with its usual HTTP status (400 if it has none)."""
        return cls(
            type=PROBLEM_TYPE_BASE + reason.slug,
            title=title,
            status=HTTP_STATUS.get(reason, 400),
            detail=detail,
            code=reason.slug,
            instance=instance,
        )

    @property
    def reason(self) -> ReasonCode | None:
        """The code as a ReasonCode, or None if this client does not know it yet."""
        try:
            return ReasonCode.from_slug(self.code)
        except ValueError:
            return None
