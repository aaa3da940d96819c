"""The unlock request: a grant plus proof that the sender holds the grant's `cnf` key.

The proof is an Ed25519 signature over a context string, the door's fresh per-connection
challenge, the door id and the grant id. Binding the challenge makes a captured request
useless on any other connection; binding door and grant id stops cross-use of proofs.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from protocol import cbor_strict
from protocol.errors import DecodeError, GrantError
from protocol.grant import decode_claims, parse_grant
from protocol.reasons import ReasonCode
from protocol.versioned import decode_versioned, encode_versioned

__all__ = [
    "CHALLENGE_MAX",
    "CHALLENGE_MIN",
    "CHALLENGE_TTL",
    "GRANT_FIELD_MAX",
    "POP_CONTEXT",
    "REQUEST_MAX",
    "UnlockRequest",
    "build_unlock_request",
    "pop_payload",
]

REQUEST_MAX = 512
GRANT_FIELD_MAX = 438
"""The grant as carried, sealed for the door (SPEC section 15) or not: what 512 bytes leave beside the PoP."""
CHALLENGE_MIN, CHALLENGE_MAX = 16, 32
CHALLENGE_TTL = 10.0
"""Seconds a challenge may be answered after the door drew it (SPEC §6 and §11: relays)."""
POP_CONTEXT = "LobbyKey-PoP-v1"
SIGNATURE_SIZE = 64
_LIMITS = cbor_strict.Limits(max_size=REQUEST_MAX, max_depth=1, max_items=8)


class RequestKey(IntEnum):
    """Map keys of the unlock request (key 0 is the version, see protocol.versioned)."""

    GRANT = 1
    POP = 2


def pop_payload(challenge: bytes, door_id: str, grant_id: bytes) -> bytes:
    """The exact bytes the handheld signs: CBOR [context, challenge, door id, grant id]."""
    return cbor_strict.encode([POP_CONTEXT, challenge, door_id, grant_id])


@dataclass(frozen=True)
class UnlockRequest:
    """The single message the app writes to the door's Unlock Request characteristic."""

    grant: bytes
    pop_signature: bytes

    def __bytes__(self) -> bytes:
        return encode_versioned({RequestKey.GRANT: self.grant, RequestKey.POP: self.pop_signature})

    @classmethod
    def from_bytes(cls, data: bytes) -> UnlockRequest:
        """Strict decode; checks shape and version, not the grant or the proof."""
        raw = decode_versioned(data, _LIMITS, (RequestKey.GRANT, RequestKey.POP))
        grant, pop = raw[RequestKey.GRANT], raw[RequestKey.POP]
        if not isinstance(grant, bytes) or not 1 <= len(grant) <= GRANT_FIELD_MAX:
            raise DecodeError("grant must be a byte string within the grant size cap")
        if not isinstance(pop, bytes) or len(pop) != SIGNATURE_SIZE:
            raise DecodeError("pop must be a 64-byte Ed25519 signature")
        return cls(grant=grant, pop_signature=pop)


def build_unlock_request(
    grant: bytes,
    handheld_key: Ed25519PrivateKey,
    challenge: bytes,
    door_id: str,
    *,
    grant_id: bytes | None = None,
) -> bytes:
    """Sign the proof of possession for this connection's challenge and wrap it with the grant.

    A sealed grant (SPEC section 15) is opaque to the app, which then passes the `grant_id` the
    service named. Otherwise the grant id and audience are read from the (unverified) grant itself;
    asking for a door the grant is not for fails here rather than as a refusal at the door.
    """
    if not isinstance(challenge, bytes) or not CHALLENGE_MIN <= len(challenge) <= CHALLENGE_MAX:
        raise DecodeError(f"a challenge is {CHALLENGE_MIN}..{CHALLENGE_MAX} bytes")
    if grant_id is None:
        claims = decode_claims(parse_grant(grant).payload)
        if claims.door_id != door_id:
            raise GrantError(f"grant is for door {claims.door_id!r}, not {door_id!r}", ReasonCode.WRONG_DOOR)
        grant_id = claims.grant_id
    signature = handheld_key.sign(pop_payload(challenge, door_id, grant_id))
    return bytes(UnlockRequest(grant=grant, pop_signature=signature))
