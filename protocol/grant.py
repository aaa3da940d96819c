"""Grant tokens: a CWT (RFC 8392) in a COSE_Sign1 (RFC 9052) signed with Ed25519.

The access service issues one per delivery attempt; the door checks it offline. The
token is bound to the driver's handheld by `cnf` (RFC 8747), so a copied token is useless
without the handheld's private key (see `protocol.unlock`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from protocol import cbor_strict
from protocol.errors import DecodeError, GrantError
from protocol.ids import is_door_id, is_grant_id, is_short_text, is_uint
from protocol.reasons import ReasonCode
from protocol.sign1 import Sign1Envelope, parse_sign1, sign1, sign1_limits

__all__ = [
    "DEFAULT_LIFETIME",
    "GRANT_LIMITS",
    "GRANT_MAX",
    "MAX_LIFETIME",
    "ClaimKey",
    "GrantClaims",
    "decode_claims",
    "encode_claims",
    "issue_grant",
    "parse_grant",
]

DEFAULT_LIFETIME = 120
MAX_LIFETIME = 300
GRANT_MAX = 400
GRANT_LIMITS = sign1_limits(GRANT_MAX)
_CLAIMS_LIMITS = cbor_strict.Limits(max_size=GRANT_MAX, max_depth=3, max_items=40)

ISSUER_MAX, SUBJECT_MAX, STOP_ID_MAX, PACKAGE_ID_MAX, CARRIER_MAX = 32, 32, 32, 40, 16


class ClaimKey(IntEnum):
    """CWT claim keys: IANA ones and our private-use ones (< -65536, RFC 8392 §9.1)."""

    ISS = 1
    SUB = 2
    AUD = 3
    EXP = 4
    NBF = 5
    IAT = 6
    CTI = 7
    CNF = 8
    STOP_ID = -65537
    PACKAGE_ID = -65538
    CARRIER = -65539


_CLAIM_LABELS = tuple(map(int, ClaimKey))
"""Claim labels as plain ints in ClaimKey (and deterministic) order: enum lookups cost per grant."""
_CLAIM_LABEL_SET = frozenset(_CLAIM_LABELS)
_CNF_COSE_KEY = 1  # RFC 8747 §3.1: cnf member carrying a COSE_Key
_OKP, _ED25519 = 1, 6  # COSE kty OKP, crv Ed25519


@dataclass(frozen=True)
class GrantClaims:
    """What a grant says: who may open which door, for which package, until when."""

    issuer: str
    subject: str
    door_id: str
    issued_at: int
    not_before: int
    expires_at: int
    grant_id: bytes
    stop_id: str
    package_id: str
    carrier: str
    confirmation_key: bytes

    def __post_init__(self) -> None:
        problems = [
            name
            for name, ok in (
                ("issuer", is_short_text(self.issuer, ISSUER_MAX)),
                ("subject", is_short_text(self.subject, SUBJECT_MAX)),
                ("door_id", is_door_id(self.door_id)),
                ("stop_id", is_short_text(self.stop_id, STOP_ID_MAX)),
                ("package_id", is_short_text(self.package_id, PACKAGE_ID_MAX)),
                ("carrier", is_short_text(self.carrier, CARRIER_MAX)),
                ("grant_id", is_grant_id(self.grant_id)),
                ("times", all(map(is_uint, (self.issued_at, self.not_before, self.expires_at)))),
                (
                    "confirmation_key",
                    isinstance(self.confirmation_key, bytes) and len(self.confirmation_key) == 32,
                ),
            )
            if not ok
        ]
        if problems:
            raise GrantError(f"invalid grant claims: {', '.join(problems)}", ReasonCode.MALFORMED)
        if not self.issued_at <= self.not_before < self.expires_at:
            raise GrantError("grant times must satisfy iat <= nbf < exp", ReasonCode.MALFORMED)

    @classmethod
    def for_delivery(
        cls,
        *,
        issuer: str,
        subject: str,
        door_id: str,
        stop_id: str,
        package_id: str,
        carrier: str,
        confirmation_key: bytes,
        grant_id: bytes,
        now: int,
        lifetime: int = DEFAULT_LIFETIME,
    ) -> GrantClaims:
        """Claims valid from `now` for `lifetime` seconds (randomness and time are inputs)."""
        return cls(
            issuer=issuer,
            subject=subject,
            door_id=door_id,
            issued_at=now,
            not_before=now,
            expires_at=now + lifetime,
            grant_id=grant_id,
            stop_id=stop_id,
            package_id=package_id,
            carrier=carrier,
            confirmation_key=confirmation_key,
        )

    @property
    def lifetime(self) -> int:
        """Seconds from issue to expiry; doors refuse more than MAX_LIFETIME."""
        return self.expires_at - self.issued_at


def encode_claims(claims: GrantClaims) -> bytes:
    """The deterministic CBOR claims set signed into the grant."""
    cnf = {_CNF_COSE_KEY: {1: _OKP, -1: _ED25519, -2: claims.confirmation_key}}
    values = (
        claims.issuer, claims.subject, claims.door_id, claims.expires_at, claims.not_before,
        claims.issued_at, claims.grant_id, cnf, claims.stop_id, claims.package_id, claims.carrier,
    )  # fmt: skip
    return cbor_strict.encode(dict(zip(_CLAIM_LABELS, values, strict=True)))


def decode_claims(payload: bytes) -> GrantClaims:
    """Strictly decode a claims set; every claim is required and no other is allowed."""
    raw = cbor_strict.decode(payload, _CLAIMS_LIMITS)
    if not isinstance(raw, dict) or raw.keys() != _CLAIM_LABEL_SET:
        raise DecodeError("grant claims must be exactly the v1 claim set")
    iss, sub, aud, exp, nbf, iat, cti, cnf, stop_id, package_id, carrier = map(raw.__getitem__, _CLAIM_LABELS)
    cose_key = cnf.get(_CNF_COSE_KEY) if isinstance(cnf, dict) and len(cnf) == 1 else None
    if not isinstance(cose_key, dict) or set(cose_key) != {1, -1, -2}:
        raise DecodeError("cnf must hold exactly one OKP COSE_Key")
    if (
        type(cose_key[1]) is not int
        or type(cose_key[-1]) is not int
        or (cose_key[1], cose_key[-1]) != (_OKP, _ED25519)
    ):
        raise DecodeError("cnf key must be an Ed25519 OKP key")
    try:
        return GrantClaims(
            issuer=iss, subject=sub, door_id=aud, issued_at=iat, not_before=nbf, expires_at=exp,
            grant_id=cti, stop_id=stop_id, package_id=package_id, carrier=carrier,
            confirmation_key=cose_key[-2],
        )  # fmt: skip
    except GrantError as err:
        raise DecodeError(str(err)) from err


def issue_grant(claims: GrantClaims, signing_key: Ed25519PrivateKey, kid: bytes) -> bytes:
    """Sign `claims` as COSE_Sign1 with `alg` and `kid` in the protected header."""
    if claims.lifetime > MAX_LIFETIME:
        raise GrantError(
            f"grant lifetime {claims.lifetime}s exceeds {MAX_LIFETIME}s", ReasonCode.LIFETIME_TOO_LONG
        )
    return sign1(encode_claims(claims), signing_key, kid)


def parse_grant(data: bytes) -> Sign1Envelope:
    """Check a grant's COSE_Sign1 structure strictly; the signature is NOT verified here."""
    return parse_sign1(data, GRANT_LIMITS)
