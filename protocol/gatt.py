"""The LobbyKey BLE GATT profile: UUIDs, advertisement format and characteristic messages.

Both the door (server) and the app (client) import this module, so a UUID or a field
number exists in exactly one place. Nothing here is readable without a grant except the
door id, the protocol version and the trusted issuer key ids: no tenant, unit, driver or
package data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from uuid import UUID

from protocol import cbor_strict
from protocol.errors import DecodeError, UnsupportedVersionError
from protocol.ids import is_door_id, is_uint
from protocol.keys import KEY_ID_MAX
from protocol.reasons import Outcome, ReasonCode
from protocol.receipt import RECEIPT_MAX
from protocol.unlock import CHALLENGE_MAX, CHALLENGE_MIN, REQUEST_MAX
from protocol.versioned import PROTOCOL_VERSION, decode_versioned, encode_versioned

__all__ = [
    "ADV_MAX",
    "ATT_ERROR_MALFORMED",
    "ATT_ERROR_RATE_LIMITED",
    "ATT_MAX_VALUE",
    "CHALLENGE_CHAR_UUID",
    "DOOR_INFO_CHAR_UUID",
    "MAINTENANCE_CHAR_UUID",
    "MIN_ATT_MTU",
    "OPEN_SECONDS_MAX",
    "RECEIPTS_CHAR_UUID",
    "RESULT_CHAR_UUID",
    "SERVICE_UUID",
    "UNLOCK_CHAR_UUID",
    "AdvertisedDoor",
    "Challenge",
    "DoorInfo",
    "ReceiptBatch",
    "ReceiptQuery",
    "UnlockResult",
    "advertising_data",
    "scan_response_data",
]

SERVICE_UUID = "4c4b0000-6c6f-6262-796b-6579a11d0001"
DOOR_INFO_CHAR_UUID = "4c4b0001-6c6f-6262-796b-6579a11d0001"
CHALLENGE_CHAR_UUID = "4c4b0002-6c6f-6262-796b-6579a11d0001"
UNLOCK_CHAR_UUID = "4c4b0003-6c6f-6262-796b-6579a11d0001"
RESULT_CHAR_UUID = "4c4b0004-6c6f-6262-796b-6579a11d0001"
RECEIPTS_CHAR_UUID = "4c4b0005-6c6f-6262-796b-6579a11d0001"
MAINTENANCE_CHAR_UUID = "4c4b0006-6c6f-6262-796b-6579a11d0001"

ATT_MAX_VALUE = 512  # Core spec Vol 3 Part F §3.2.9: longest attribute value
ATT_ERROR_MALFORMED = 0x80
"""LobbyKey application ATT error (SPEC §8): a malformed value (e.g. a Receipts query)."""
ATT_ERROR_RATE_LIMITED = 0x81
"""LobbyKey application ATT error (SPEC §8): nothing decided, reason `rate_limited`."""
MIN_ATT_MTU = 247  # an indicated UnlockResult (<= 244 bytes) fits without a follow-up read
ADV_MAX = 31  # legacy advertising PDU payload
MAX_TRUSTED_KIDS = 16
OPEN_SECONDS_MAX = 0xFFFF  # keeps the largest Result within its 208-byte cap

_BATCH_FRAME = 7  # map head, version, key 1, array head (< 24 items), key 2, more
_BATCH_ITEMS_MAX = 23
_AD_FLAGS, _AD_COMPLETE_128, _AD_SERVICE_DATA_128 = 0x01, 0x07, 0x21
_FLAGS_LE_GENERAL_NO_BREDR = 0x06


class _Key(IntEnum):
    """Field numbers used by the characteristic messages (0 is the version)."""

    FIRST = 1
    SECOND = 2
    THIRD = 3
    FOURTH = 4


def _limits(max_size: int, max_items: int = 32) -> cbor_strict.Limits:
    return cbor_strict.Limits(max_size=max_size, max_depth=2, max_items=max_items)


@dataclass(frozen=True)
class AdvertisedDoor:
    """Service data of the advertisement: protocol version byte + ASCII door id."""

    door_id: str
    version: int = PROTOCOL_VERSION

    def __bytes__(self) -> bytes:
        if not is_door_id(self.door_id):
            raise DecodeError("door id must be 1-8 characters of [A-Za-z0-9_.-]")
        return bytes([self.version]) + self.door_id.encode("ascii")

    @classmethod
    def from_bytes(cls, data: bytes) -> AdvertisedDoor:
        """Parse the service data bleak reports under SERVICE_UUID."""
        if not isinstance(data, (bytes, bytearray)) or len(data) < 2:
            raise DecodeError("service data is a version byte and a door id")
        if data[0] != PROTOCOL_VERSION:
            raise UnsupportedVersionError(f"door speaks protocol version {data[0]}")
        try:
            door_id = bytes(data[1:]).decode("ascii")
        except UnicodeDecodeError:
            raise DecodeError("door id is not ASCII") from None
        if not is_door_id(door_id):
            raise DecodeError("invalid door id in service data")
        return cls(door_id=door_id)


def _ad(ad_type: int, value: bytes) -> bytes:
    return bytes([len(value) + 1, ad_type]) + value


def advertising_data(door_id: str) -> bytes:
    """Flags + Service Data (128-bit UUID): at most 30 of the 31 legacy bytes."""
    uuid_le = UUID(SERVICE_UUID).bytes[::-1]
    data = _ad(_AD_FLAGS, bytes([_FLAGS_LE_GENERAL_NO_BREDR])) + _ad(
        _AD_SERVICE_DATA_128, uuid_le + bytes(AdvertisedDoor(door_id))
    )
    assert len(data) <= ADV_MAX
    return data


def scan_response_data() -> bytes:
    """Complete list of 128-bit service UUIDs, for scanners that filter on service UUIDs."""
    return _ad(_AD_COMPLETE_128, UUID(SERVICE_UUID).bytes[::-1])


@dataclass(frozen=True)
class DoorInfo:
    """Door Info characteristic (read): who the door is and which issuer keys it trusts."""

    door_id: str
    trusted_kids: tuple[bytes, ...]
    max_request: int = REQUEST_MAX
    receipts_full: bool = False
    """True while unacknowledged receipts fill the door's store: deliveries fail closed (SPEC section 7)."""

    def __bytes__(self) -> bytes:
        fields: dict[int, object] = {
            _Key.FIRST: self.door_id,
            _Key.SECOND: list(self.trusted_kids),
            _Key.THIRD: self.max_request,
        }
        if self.receipts_full:
            fields[_Key.FOURTH] = True
        return encode_versioned(fields)

    @classmethod
    def from_bytes(cls, data: bytes) -> DoorInfo:
        required = (_Key.FIRST, _Key.SECOND, _Key.THIRD)
        raw = decode_versioned(data, _limits(ATT_MAX_VALUE), required, (_Key.FOURTH,))
        door_id, kids, max_request = raw[_Key.FIRST], raw[_Key.SECOND], raw[_Key.THIRD]
        if raw.get(_Key.FOURTH, True) is not True:
            raise DecodeError("receipts_full is present only as true")
        if not is_door_id(door_id) or not is_uint(max_request):
            raise DecodeError("invalid door id or request cap")
        if not isinstance(kids, list) or len(kids) > MAX_TRUSTED_KIDS:
            raise DecodeError(f"trusted key ids are a list of at most {MAX_TRUSTED_KIDS}")
        if not all(isinstance(k, bytes) and 1 <= len(k) <= KEY_ID_MAX for k in kids):
            raise DecodeError(f"each key id is 1..{KEY_ID_MAX} bytes")
        full = _Key.FOURTH in raw
        return cls(door_id=door_id, trusted_kids=tuple(kids), max_request=max_request, receipts_full=full)


@dataclass(frozen=True)
class Challenge:
    """Challenge characteristic (read): a fresh nonce, one per connection and attempt."""

    nonce: bytes

    def __bytes__(self) -> bytes:
        return encode_versioned({_Key.FIRST: self.nonce})

    @classmethod
    def from_bytes(cls, data: bytes) -> Challenge:
        raw = decode_versioned(data, _limits(64), (_Key.FIRST,))
        nonce = raw[_Key.FIRST]
        if not isinstance(nonce, bytes) or not CHALLENGE_MIN <= len(nonce) <= CHALLENGE_MAX:
            raise DecodeError(f"a challenge nonce is {CHALLENGE_MIN}..{CHALLENGE_MAX} bytes")
        return cls(nonce=nonce)


def _enum_field(enum: type[IntEnum], value: object) -> int:
    if type(value) is not int or value not in set(enum):
        raise DecodeError(f"unknown {enum.__name__} {value!r}")
    return value


@dataclass(frozen=True)
class UnlockResult:
    """Result characteristic (indicate, read): the decision and the door-signed receipt.

    `open_seconds` lets the app count down to the relock; it exists only when the door opened.
    """

    outcome: Outcome
    reason: ReasonCode
    receipt: bytes
    open_seconds: int | None = None

    def __bytes__(self) -> bytes:
        fields: dict[int, object] = {
            _Key.FIRST: int(self.outcome),
            _Key.SECOND: int(self.reason),
            _Key.THIRD: self.receipt,
        }
        if self.open_seconds is not None:
            _check_open_seconds(self.outcome, self.open_seconds)
            fields[_Key.FOURTH] = self.open_seconds
        return encode_versioned(fields)

    @classmethod
    def from_bytes(cls, data: bytes) -> UnlockResult:
        keys = (_Key.FIRST, _Key.SECOND, _Key.THIRD)
        raw = decode_versioned(data, _limits(RECEIPT_MAX + 16), keys, (_Key.FOURTH,))
        receipt = raw[_Key.THIRD]
        if not isinstance(receipt, bytes) or not 1 <= len(receipt) <= RECEIPT_MAX:
            raise DecodeError("receipt must be a byte string within the receipt cap")
        outcome = Outcome(_enum_field(Outcome, raw[_Key.FIRST]))
        open_seconds = raw.get(_Key.FOURTH)
        if open_seconds is not None:
            _check_open_seconds(outcome, open_seconds)
        return cls(
            outcome=outcome,
            reason=ReasonCode(_enum_field(ReasonCode, raw[_Key.SECOND])),
            receipt=receipt,
            open_seconds=open_seconds,
        )

    @property
    def unlocked(self) -> bool:
        return self.outcome is Outcome.UNLOCKED


def _check_open_seconds(outcome: Outcome, value: object) -> None:
    if outcome is not Outcome.UNLOCKED:
        raise DecodeError("open_seconds is present only when the door unlocked")
    if not is_uint(value) or value > OPEN_SECONDS_MAX:  # type: ignore[operator]
        raise DecodeError(f"open_seconds must be an unsigned integer <= {OPEN_SECONDS_MAX}")


@dataclass(frozen=True)
class ReceiptQuery:
    """Receipts characteristic (write): ask for stored receipts from sequence number `from_seq`."""

    from_seq: int

    def __bytes__(self) -> bytes:
        return encode_versioned({_Key.FIRST: self.from_seq})

    @classmethod
    def from_bytes(cls, data: bytes) -> ReceiptQuery:
        raw = decode_versioned(data, _limits(16), (_Key.FIRST,))
        if not is_uint(raw[_Key.FIRST]):
            raise DecodeError("from_seq must be an unsigned integer")
        return cls(from_seq=raw[_Key.FIRST])


@dataclass(frozen=True)
class ReceiptBatch:
    """Receipts characteristic (read): consecutive receipts from the queried seq; `more` if truncated."""

    receipts: tuple[bytes, ...]
    more: bool

    def __bytes__(self) -> bytes:
        data = encode_versioned({_Key.FIRST: list(self.receipts), _Key.SECOND: self.more})
        if len(data) > ATT_MAX_VALUE:
            raise DecodeError("a receipt batch must fit one attribute value (512 bytes)")
        return data

    @classmethod
    def pack(cls, stored: Sequence[bytes]) -> ReceiptBatch:
        """The longest prefix of `stored` that fits one attribute value, sized by arithmetic (SPEC section 8).

        Every receipt is 24..RECEIPT_MAX bytes, so its bstr head is 2 bytes; the frame is 7 bytes.
        """
        size, count = _BATCH_FRAME, 0
        for body in stored:
            size += len(body) + 2
            if size > ATT_MAX_VALUE or count == _BATCH_ITEMS_MAX:
                break
            count += 1
        return cls(tuple(stored[:count]), more=count < len(stored))

    @classmethod
    def from_bytes(cls, data: bytes) -> ReceiptBatch:
        raw = decode_versioned(data, _limits(ATT_MAX_VALUE), (_Key.FIRST, _Key.SECOND))
        receipts, more = raw[_Key.FIRST], raw[_Key.SECOND]
        if not isinstance(receipts, list) or not all(
            isinstance(r, bytes) and 1 <= len(r) <= RECEIPT_MAX for r in receipts
        ):
            raise DecodeError("receipts must be a list of receipt byte strings")
        if not isinstance(more, bool):
            raise DecodeError("more must be a boolean")
        return cls(receipts=tuple(receipts), more=more)
