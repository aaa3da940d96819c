"""The one COSE_Sign1 shape LobbyKey uses for grants and door receipts.

    18([ protected: bstr .cbor {1: alg, 4: kid}, unprotected: {}, payload: bstr, signature: bstr ])

Structure is checked strictly here, before python-cwt computes and checks signatures, so
header tricks (alg or kid in the unprotected bucket, extra parameters) never reach it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import cbor2
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cwt import CWTError
from cwt.cose_key_interface import COSEKeyInterface

from protocol import cbor_strict
from protocol.cose_codec import COSE_CODEC
from protocol.errors import DecodeError
from protocol.keys import KEY_ID_MAX, Alg, cose_signing_key

__all__ = [
    "COSE_SIGN1_TAG",
    "HeaderKey",
    "Sign1Envelope",
    "parse_sign1",
    "sign1",
    "sign1_limits",
    "verify_sign1",
]

COSE_SIGN1_TAG = 18
_HEADER_LIMITS = cbor_strict.Limits(max_size=40, max_depth=1, max_items=8)


class HeaderKey(IntEnum):
    """COSE header parameters, all in the protected header."""

    ALG = 1
    KID = 4


_ALG, _KID, _EDDSA = int(HeaderKey.ALG), int(HeaderKey.KID), int(Alg.EDDSA)
"""Plain ints for python-cwt: cbor2 encodes enum members through a slower path."""


def sign1_limits(max_size: int) -> cbor_strict.Limits:
    """Decoding limits for a COSE_Sign1 of at most `max_size` bytes."""
    return cbor_strict.Limits(
        max_size=max_size, max_depth=2, max_items=8, allowed_tags=frozenset({COSE_SIGN1_TAG})
    )


@dataclass(frozen=True)
class Sign1Envelope:
    """A structurally valid COSE_Sign1 whose signature has not been checked yet."""

    alg: int
    kid: bytes
    payload: bytes
    signature: bytes
    raw: bytes


def sign1(payload: bytes, signing_key: Ed25519PrivateKey, kid: bytes) -> bytes:
    """Sign `payload` with EdDSA; Ed25519 is deterministic, so equal inputs give equal bytes."""
    token = COSE_CODEC.encode_and_sign(
        payload, cose_signing_key(signing_key, kid), protected={_ALG: _EDDSA, _KID: kid}, unprotected={}
    )
    assert isinstance(token, bytes)  # without out="cbor2/CBORTag" python-cwt returns the bytes
    return token


def parse_sign1(data: bytes, limits: cbor_strict.Limits) -> Sign1Envelope:
    """Strictly check the COSE_Sign1 structure; raises DecodeError (or TooLargeError)."""
    outer = cbor_strict.decode(data, limits)
    if not isinstance(outer, cbor2.CBORTag) or outer.tag != COSE_SIGN1_TAG:
        raise DecodeError("expected a COSE_Sign1 with tag 18")
    parts: Any = outer.value
    if not isinstance(parts, list) or len(parts) != 4:
        raise DecodeError("COSE_Sign1 is an array of four items")
    protected, unprotected, payload, signature = parts
    if not all(isinstance(p, bytes) for p in (protected, payload, signature)):
        raise DecodeError("protected header, payload and signature must be byte strings")
    if unprotected != {}:
        raise DecodeError("the unprotected header must be empty")
    header = cbor_strict.decode(protected, _HEADER_LIMITS)
    if not isinstance(header, dict) or set(header) != set(HeaderKey):
        raise DecodeError("the protected header holds exactly alg and kid")
    alg, kid = header[HeaderKey.ALG], header[HeaderKey.KID]
    if type(alg) is not int:
        raise DecodeError("alg must be an integer")
    if not isinstance(kid, bytes) or not 1 <= len(kid) <= KEY_ID_MAX:
        raise DecodeError(f"kid must be 1..{KEY_ID_MAX} bytes")
    return Sign1Envelope(alg=alg, kid=kid, payload=payload, signature=signature, raw=bytes(data))


def verify_sign1(envelope: Sign1Envelope, key: COSEKeyInterface) -> bool:
    """True if python-cwt verifies the signature with `key` (whose kid must match)."""
    try:
        COSE_CODEC.decode(envelope.raw, key)
    except (CWTError, ValueError, TypeError, KeyError):
        return False
    return True
