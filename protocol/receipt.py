"""Door receipts: one signed, hash-chained record per unlock attempt.

Each receipt carries the SHA-256 of the previous receipt's complete bytes, so the access
service can prove that a door's history is complete (sequence numbers without gaps) and
unaltered (every link matches). The first receipt of a door has seq 0 and 32 zero bytes
as `prev_hash`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import TypeVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from protocol import cbor_strict
from protocol.errors import DecodeError, ReceiptError, UnsupportedVersionError
from protocol.ids import is_door_id, is_grant_id, is_uint
from protocol.keys import Alg, cose_verify_key
from protocol.reasons import Outcome, ReasonCode
from protocol.sign1 import Sign1Envelope, parse_sign1, sign1, sign1_limits, verify_sign1
from protocol.versioned import decode_versioned, encode_versioned

__all__ = [
    "COUNT_MAX",
    "GENESIS_HASH",
    "RECEIPT_MAX",
    "ChainLink",
    "ChainReport",
    "Receipt",
    "decode_receipt",
    "receipt_digest",
    "sign_receipt",
    "verify_chain",
    "verify_receipt",
]

_E = TypeVar("_E", bound=IntEnum)

RECEIPT_MAX = 192
GENESIS_HASH = bytes(32)
_LIMITS = sign1_limits(RECEIPT_MAX)
_PAYLOAD_LIMITS = cbor_strict.Limits(max_size=RECEIPT_MAX, max_depth=1, max_items=20)


class ReceiptKey(IntEnum):
    """Map keys of the signed receipt payload."""

    VERSION = 0  # protocol.versioned.VERSION_KEY
    DOOR_ID = 1
    SEQ = 2
    PREV_HASH = 3
    GRANT_ID = 4
    OUTCOME = 5
    REASON = 6
    DOOR_TIME = 7
    COUNT = 8
    STATEMENT = 9


COUNT_MAX = 65_535
"""A coalesced receipt stands for at most this many events (SPEC §7)."""


@dataclass(frozen=True)
class Receipt:
    """What the door says happened; `grant_id` is None when no grant id could be read."""

    door_id: str
    seq: int
    prev_hash: bytes
    grant_id: bytes | None
    outcome: Outcome
    reason: ReasonCode
    door_time: int
    count: int = 1
    """How many events of this outcome and reason the receipt stands for (coalesced refusals)."""
    statement: int | None = None
    """Counter of the maintenance statement applied; only with outcome MAINTAINED (SPEC section 14)."""

    def __post_init__(self) -> None:
        ok = (
            is_door_id(self.door_id)
            and is_uint(self.seq)
            and isinstance(self.prev_hash, bytes)
            and len(self.prev_hash) == 32
            and (self.grant_id is None or is_grant_id(self.grant_id))
            and isinstance(self.outcome, Outcome)
            and isinstance(self.reason, ReasonCode)
            and is_uint(self.door_time)
            and type(self.count) is int
            and 1 <= self.count <= COUNT_MAX
            and (self.statement is None) == (self.outcome is not Outcome.MAINTAINED)
            and (self.statement is None or is_uint(self.statement))
        )
        if not ok:
            raise ReceiptError("invalid receipt fields", ReasonCode.MALFORMED)

    def encode_payload(self) -> bytes:
        fields: dict[int, object] = {
            ReceiptKey.DOOR_ID: self.door_id,
            ReceiptKey.SEQ: self.seq,
            ReceiptKey.PREV_HASH: self.prev_hash,
            ReceiptKey.OUTCOME: int(self.outcome),
            ReceiptKey.REASON: int(self.reason),
            ReceiptKey.DOOR_TIME: self.door_time,
        }
        if self.grant_id is not None:
            fields[ReceiptKey.GRANT_ID] = self.grant_id
        if self.count != 1:
            fields[ReceiptKey.COUNT] = self.count
        if self.statement is not None:
            fields[ReceiptKey.STATEMENT] = self.statement
        return encode_versioned(fields)


def _door_kid(door_id: str) -> bytes:
    return door_id.encode("ascii")


def sign_receipt(receipt: Receipt, door_key: Ed25519PrivateKey) -> bytes:
    """COSE_Sign1 over the receipt payload; kid is the door id."""
    return sign1(receipt.encode_payload(), door_key, _door_kid(receipt.door_id))


def receipt_digest(data: bytes) -> bytes:
    """SHA-256 of a receipt's complete bytes: the next receipt's `prev_hash`."""
    return hashlib.sha256(data).digest()


def _enum(enum: type[_E], value: object) -> _E:
    if type(value) is not int:
        raise DecodeError(f"{enum.__name__} must be an integer")
    try:
        return enum(value)
    except ValueError:
        raise DecodeError(f"unknown {enum.__name__} {value}") from None


def decode_receipt(data: bytes) -> Receipt:
    """Strictly decode a receipt WITHOUT checking its signature (see verify_receipt)."""
    return _decode(data)[1]


def _decode(data: bytes) -> tuple[Sign1Envelope, Receipt]:
    envelope = parse_sign1(data, _LIMITS)
    optional = {ReceiptKey.GRANT_ID, ReceiptKey.COUNT, ReceiptKey.STATEMENT}
    required = set(ReceiptKey) - {ReceiptKey.VERSION, *optional}
    raw = decode_versioned(envelope.payload, _PAYLOAD_LIMITS, required, optional)
    if raw.get(ReceiptKey.COUNT, 2) in (0, 1):
        raise DecodeError("count is present only for 2 or more events")
    try:
        receipt = Receipt(
            door_id=raw[ReceiptKey.DOOR_ID],
            seq=raw[ReceiptKey.SEQ],
            prev_hash=raw[ReceiptKey.PREV_HASH],
            grant_id=raw.get(ReceiptKey.GRANT_ID),
            outcome=_enum(Outcome, raw[ReceiptKey.OUTCOME]),
            reason=_enum(ReasonCode, raw[ReceiptKey.REASON]),
            door_time=raw[ReceiptKey.DOOR_TIME],
            count=raw.get(ReceiptKey.COUNT, 1),
            statement=raw.get(ReceiptKey.STATEMENT),
        )
    except ReceiptError as err:
        raise DecodeError(str(err)) from err
    if envelope.alg != Alg.EDDSA or envelope.kid != _door_kid(receipt.door_id):
        raise DecodeError("receipt header must name EdDSA and the door id as kid")
    return envelope, receipt


def verify_receipt(data: bytes, door_public_key: bytes) -> Receipt:
    """Decode and check the door's signature; raises DecodeError or ReceiptError."""
    envelope, receipt = _decode(data)
    if not verify_sign1(envelope, cose_verify_key(door_public_key, envelope.kid)):
        raise ReceiptError(f"receipt {receipt.seq} of door {receipt.door_id} has a bad signature")
    return receipt


@dataclass(frozen=True)
class ChainLink:
    """The last receipt already accepted for a door: where the next one must attach."""

    seq: int
    digest: bytes


@dataclass(frozen=True)
class ChainReport:
    """Result of checking a batch of relayed receipts of one door.

    `accepted` are new, correctly signed receipts in sequence order; `rejected` pairs an
    input index with its reason; `gaps` are inclusive (first, last) missing sequence
    numbers; `breaks` are sequence numbers whose prev_hash does not match their
    predecessor; `head` is where the next batch must attach.
    """

    accepted: tuple[Receipt, ...]
    rejected: tuple[tuple[int, ReasonCode], ...]
    gaps: tuple[tuple[int, int], ...]
    breaks: tuple[int, ...]
    head: ChainLink | None


def verify_chain(
    receipts: Sequence[bytes], door_public_key: bytes, door_id: str, previous: ChainLink | None = None
) -> ChainReport:
    """Check signatures, order and hash links of receipts relayed (in any order) for one door."""
    rejected: list[tuple[int, ReasonCode]] = []
    valid: dict[int, tuple[Receipt, bytes]] = {}
    for index, data in enumerate(receipts):
        try:
            receipt = verify_receipt(data, door_public_key)
        except (DecodeError, ReceiptError, UnsupportedVersionError) as err:
            reason = err.reason if isinstance(err, ReceiptError) else ReasonCode.MALFORMED
            rejected.append((index, reason))
            continue
        if receipt.door_id != door_id:
            rejected.append((index, ReasonCode.RECEIPT_WRONG_DOOR))
        elif receipt.seq in valid or (previous is not None and receipt.seq <= previous.seq):
            rejected.append((index, ReasonCode.RECEIPT_DUPLICATE))
        else:
            valid[receipt.seq] = (receipt, receipt_digest(bytes(data)))

    gaps: list[tuple[int, int]] = []
    breaks: list[int] = []
    head = previous
    for seq in sorted(valid):
        receipt, digest = valid[seq]
        expected_seq = 0 if head is None else head.seq + 1
        if seq > expected_seq:
            gaps.append((expected_seq, seq - 1))
        else:
            expected_hash = GENESIS_HASH if head is None else head.digest
            if receipt.prev_hash != expected_hash:
                breaks.append(seq)
        head = ChainLink(seq, digest)
    accepted = tuple(valid[seq][0] for seq in sorted(valid))
    return ChainReport(accepted, tuple(rejected), tuple(gaps), tuple(breaks), head)
