"""Signed maintenance statements that phones relay to doors (SPEC section 14).

A door never reaches the internet, so the access service and the building owner reach it through
any phone that connects: time, revocations, trust-store changes and receipt acks, each a
COSE_Sign1 (python-cwt) over a strict-CBOR payload with a per-door monotonic counter. The
signer's role decides what it may say: only the owner changes the trust store; a carrier's
grant key is no authority at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from functools import cached_property
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cwt.cose_key_interface import COSEKeyInterface

from protocol import cbor_strict
from protocol.errors import DecodeError, KeyFormatError, ProtocolError
from protocol.ids import is_door_id, is_grant_id, is_short_text, is_uint
from protocol.keys import (
    KEY_ID_MAX,
    Alg,
    TrustedIssuerKey,
    cose_verify_key,
    load_public_key,
)
from protocol.reasons import ReasonCode
from protocol.seal import SEAL_OVERHEAD
from protocol.sign1 import parse_sign1, sign1, sign1_limits, verify_sign1
from protocol.versioned import decode_versioned, encode_versioned

__all__ = [
    "BUNDLE_MAX",
    "MAX_REVOKED_IDS",
    "STATEMENT_MAX",
    "Authority",
    "Body",
    "MaintenanceBundle",
    "MaintenanceReport",
    "Revocation",
    "Role",
    "Statement",
    "StatementCheck",
    "StatementKind",
    "check_statement",
    "sign_statement",
]

STATEMENT_MAX = 240
BUNDLE_MAX = 512  # one ATT attribute value
MAX_REVOKED_IDS = 6
"""Ids per revocation statement: keeps a statement within STATEMENT_MAX."""
_BUNDLE_OVERHEAD = 6
"""Map head, version, key 1 and an array head of up to 23 items."""
_LIMITS = sign1_limits(STATEMENT_MAX)
_PAYLOAD_LIMITS = cbor_strict.Limits(max_size=STATEMENT_MAX, max_depth=3, max_items=40)
_BUNDLE_LIMITS = cbor_strict.Limits(max_size=BUNDLE_MAX, max_depth=2, max_items=32)


class StatementKind(IntEnum):
    TIME = 1
    REVOCATION = 2
    TRUST_ADD = 3
    TRUST_RETIRE = 4
    RECEIPT_ACK = 5


class Role(IntEnum):
    """Who holds a maintenance key, which decides the kinds it may sign."""

    OWNER = 1
    SERVICE = 2


_ALLOWED = {
    Role.OWNER: frozenset(StatementKind),
    Role.SERVICE: frozenset({StatementKind.TIME, StatementKind.REVOCATION, StatementKind.RECEIPT_ACK}),
}


class _Key(IntEnum):
    DOOR_ID = 1
    COUNTER = 2
    KIND = 3
    BODY = 4


class _RevKey(IntEnum):
    GRANT_IDS = 1
    HANDHELD_KIDS = 2
    EPOCH = 3


@dataclass(frozen=True)
class Authority:
    """A key the door accepts maintenance statements from, and the role it signs in."""

    kid: bytes
    role: Role
    public_key: bytes

    def __post_init__(self) -> None:
        load_public_key(self.public_key)
        if not isinstance(self.kid, bytes) or not 1 <= len(self.kid) <= KEY_ID_MAX:
            raise KeyFormatError(f"a key id is 1..{KEY_ID_MAX} bytes")

    @cached_property
    def cose_key(self) -> COSEKeyInterface:
        return cose_verify_key(self.public_key, self.kid)


@dataclass(frozen=True)
class Revocation:
    """RFC 9770 in spirit: what is revoked, by id, or everything issued before `epoch`."""

    grant_ids: tuple[bytes, ...] = ()
    handheld_kids: tuple[bytes, ...] = ()
    epoch: int | None = None

    def encode(self) -> dict[int, Any]:
        fields: dict[int, Any] = {}
        if self.grant_ids:
            fields[_RevKey.GRANT_IDS] = list(self.grant_ids)
        if self.handheld_kids:
            fields[_RevKey.HANDHELD_KIDS] = list(self.handheld_kids)
        if self.epoch is not None:
            fields[_RevKey.EPOCH] = self.epoch
        return fields

    @classmethod
    def decode(cls, raw: object) -> Revocation:
        if not isinstance(raw, dict) or not raw or not set(raw) <= set(map(int, _RevKey)):
            raise DecodeError("a revocation is a non-empty map of grant ids, handheld kids and/or epoch")
        grants, kids = raw.get(_RevKey.GRANT_IDS, []), raw.get(_RevKey.HANDHELD_KIDS, [])
        if (
            not isinstance(grants, list)
            or not all(is_grant_id(g) for g in grants)
            or len(grants) > MAX_REVOKED_IDS
        ):
            raise DecodeError("revoked grant ids are a list of 16-byte ids")
        if (
            not isinstance(kids, list)
            or len(kids) > MAX_REVOKED_IDS
            or not all(isinstance(k, bytes) and 1 <= len(k) <= KEY_ID_MAX for k in kids)
        ):
            raise DecodeError("revoked handheld kids are a list of key ids")
        epoch = raw.get(_RevKey.EPOCH)
        if epoch is not None and not is_uint(epoch):
            raise DecodeError("epoch is an unsigned integer")
        return cls(tuple(grants), tuple(kids), epoch)


Body = int | bytes | Revocation | TrustedIssuerKey
"""time / receipt ack: int; trust retire: kid; revocation; trust add: the issuer key."""


@dataclass(frozen=True)
class Statement:
    door_id: str
    counter: int
    kind: StatementKind
    body: Body

    def encode_payload(self) -> bytes:
        return encode_versioned(
            {
                _Key.DOOR_ID: self.door_id,
                _Key.COUNTER: self.counter,
                _Key.KIND: int(self.kind),
                _Key.BODY: _encode_body(self.kind, self.body),
            }
        )

    @classmethod
    def decode_payload(cls, payload: bytes) -> Statement:
        raw = decode_versioned(payload, _PAYLOAD_LIMITS, tuple(_Key))
        door_id, counter, kind = raw[_Key.DOOR_ID], raw[_Key.COUNTER], raw[_Key.KIND]
        if not is_door_id(door_id) or not is_uint(counter):
            raise DecodeError("invalid door id or counter")
        if type(kind) is not int or kind not in set(StatementKind):
            raise DecodeError(f"unknown statement kind {kind!r}")
        kind = StatementKind(kind)
        return cls(door_id, counter, kind, _decode_body(kind, raw[_Key.BODY]))


def _encode_body(kind: StatementKind, body: Body) -> object:
    if isinstance(body, Revocation):
        return body.encode()
    if isinstance(body, TrustedIssuerKey):
        return [body.kid, body.issuer, body.public_key]
    return body


def _decode_body(kind: StatementKind, raw: object) -> Body:
    if kind in (StatementKind.TIME, StatementKind.RECEIPT_ACK):
        if not isinstance(raw, int) or not is_uint(raw):
            raise DecodeError("time and receipt ack bodies are unsigned integers")
        return raw
    if kind is StatementKind.TRUST_RETIRE:
        if not isinstance(raw, bytes) or not 1 <= len(raw) <= KEY_ID_MAX:
            raise DecodeError("a trust retire body is a key id")
        return raw
    if kind is StatementKind.REVOCATION:
        return Revocation.decode(raw)
    if not isinstance(raw, list) or len(raw) != 3 or not is_short_text(raw[1], 32):
        raise DecodeError("a trust add body is [kid, issuer, public key]")
    try:
        return TrustedIssuerKey(kid=raw[0], issuer=raw[1], public_key=raw[2])
    except (ProtocolError, TypeError, ValueError) as err:
        raise DecodeError(f"invalid issuer key: {err}") from err


def sign_statement(statement: Statement, key: Ed25519PrivateKey, kid: bytes) -> bytes:
    """The statement as COSE_Sign1 (python-cwt); raises DecodeError if it would exceed the cap."""
    data = sign1(statement.encode_payload(), key, kid)
    if len(data) > STATEMENT_MAX:
        raise DecodeError(f"a statement is at most {STATEMENT_MAX} bytes")
    return data


@dataclass(frozen=True)
class StatementCheck:
    """The door's verdict on one statement; `statement` is set only when it may be applied."""

    reason: ReasonCode
    statement: Statement | None = None


def check_statement(
    data: bytes, authorities: Mapping[bytes, Authority], *, door_id: str, last_counter: int | None
) -> StatementCheck:
    """Signature, authority, audience and counter (SPEC section 14); never raises."""
    try:
        envelope = parse_sign1(data, _LIMITS)
    except ProtocolError:
        return StatementCheck(_unsigned_or_malformed(data))
    authority = authorities.get(envelope.kid)
    if authority is None:
        return StatementCheck(ReasonCode.STATEMENT_UNKNOWN_SIGNER)
    if envelope.alg != Alg.EDDSA or not verify_sign1(envelope, authority.cose_key):
        return StatementCheck(ReasonCode.STATEMENT_BAD_SIGNATURE)
    try:
        statement = Statement.decode_payload(envelope.payload)
    except ProtocolError:
        return StatementCheck(ReasonCode.STATEMENT_MALFORMED)
    if statement.kind not in _ALLOWED[authority.role]:
        return StatementCheck(ReasonCode.STATEMENT_NOT_AUTHORIZED)
    if statement.door_id != door_id:
        return StatementCheck(ReasonCode.STATEMENT_WRONG_DOOR)
    if last_counter is not None and statement.counter <= last_counter:
        stale = statement.counter < last_counter
        return StatementCheck(ReasonCode.STATEMENT_STALE if stale else ReasonCode.STATEMENT_REPLAYED)
    return StatementCheck(ReasonCode.OK, statement)


def _unsigned_or_malformed(data: bytes) -> ReasonCode:
    """A well-formed statement payload sent bare is `unsigned`; anything else is `malformed`."""
    try:
        Statement.decode_payload(data)
    except ProtocolError:
        return ReasonCode.STATEMENT_MALFORMED
    return ReasonCode.STATEMENT_UNSIGNED


@dataclass(frozen=True)
class MaintenanceBundle:
    """Maintenance characteristic (write): statements to apply in order."""

    statements: tuple[bytes, ...]

    def __bytes__(self) -> bytes:
        return encode_versioned({1: list(self.statements)})

    @classmethod
    def pack(cls, statements: Iterable[bytes]) -> MaintenanceBundle:
        """The longest prefix that fits one attribute value, sized by arithmetic (never by trying)."""
        chosen: list[bytes] = []
        size = _BUNDLE_OVERHEAD
        for data in statements:
            size += len(data) + _bstr_head(len(data))
            if size > BUNDLE_MAX or len(chosen) == 23:
                break
            chosen.append(data)
        return cls(tuple(chosen))

    @classmethod
    def from_bytes(cls, data: bytes) -> MaintenanceBundle:
        raw = decode_versioned(data, _BUNDLE_LIMITS, (1,))
        items = raw[1]
        cap = STATEMENT_MAX + SEAL_OVERHEAD  # statements travel sealed for the door (SPEC section 15)
        if not isinstance(items, list) or not all(isinstance(s, bytes) and 1 <= len(s) <= cap for s in items):
            raise DecodeError("a bundle is a list of statement byte strings")
        return cls(tuple(items))


@dataclass(frozen=True)
class MaintenanceReport:
    """Maintenance characteristic (read): the door's reason for each statement of the last write."""

    reasons: tuple[ReasonCode, ...]

    def __bytes__(self) -> bytes:
        return encode_versioned({1: [int(r) for r in self.reasons]})

    @classmethod
    def from_bytes(cls, data: bytes) -> MaintenanceReport:
        raw = decode_versioned(data, _BUNDLE_LIMITS, (1,))
        items = raw[1]
        if not isinstance(items, list) or not all(type(r) is int and r in set(ReasonCode) for r in items):
            raise DecodeError("a report is a list of reason codes")
        return cls(tuple(ReasonCode(r) for r in items))


def _bstr_head(length: int) -> int:
    return 1 if length < 24 else 2 if length < 256 else 3
