"""Sealing for the air: COSE_Encrypt0 (A256GCM, python-cwt) under a key the door and the service share.

A grant names a stop, a package and a carrier, and maintenance statements name carriers and handheld
keys; BLE is sniffable from the lobby, so the service seals both for the one door that must read them
(SPEC section 15). Only the door id, counters, random ids and ciphertext travel in clear.

    sealed = #6.16([ bstr .cbor {1: 3}, {5: bstr .size 12}, bstr ciphertext ])

The structure is checked strictly here before python-cwt decrypts, like COSE_Sign1 in `sign1`.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import Any

import cbor2
from cwt import COSEKey, CWTError
from cwt.cose_key_interface import COSEKeyInterface

from protocol import cbor_strict
from protocol.cose_codec import COSE_CODEC
from protocol.errors import DecodeError, KeyFormatError

__all__ = [
    "COSE_ENCRYPT0_TAG",
    "SEAL_KEY_SIZE",
    "SEAL_OVERHEAD",
    "kid_tag",
    "open_sealed",
    "seal",
    "seal_key",
]

COSE_ENCRYPT0_TAG = 16
SEAL_KEY_SIZE = 32
SEAL_OVERHEAD = 40
"""Most bytes a seal adds to a plaintext of up to 65519 bytes (tag, headers, nonce, GCM tag)."""
_A256GCM = 3
_ALG, _IV = 1, 5
_NONCE_SIZE = 12
_PROTECTED = cbor_strict.encode({_ALG: _A256GCM})


def seal_key(raw: bytes) -> COSEKeyInterface:
    """A python-cwt A256GCM key from the door's 32-byte seal secret (build once: it is not free)."""
    if not isinstance(raw, bytes) or len(raw) != SEAL_KEY_SIZE:
        raise KeyFormatError(f"a seal key is {SEAL_KEY_SIZE} bytes")
    return COSEKey.from_symmetric_key(raw, alg="A256GCM")


def seal(plaintext: bytes, key: COSEKeyInterface, nonce: bytes | None = None) -> bytes:
    """Encrypt for the door; `nonce` only for test vectors (a fresh random one otherwise)."""
    iv = os.urandom(_NONCE_SIZE) if nonce is None else nonce
    return COSE_CODEC.encode_and_encrypt(plaintext, key, protected={_ALG: _A256GCM}, unprotected={_IV: iv})


def open_sealed(data: bytes, key: COSEKeyInterface, max_size: int) -> bytes:
    """Strict structure check, then python-cwt decrypts and authenticates; DecodeError on any failure."""
    limits = cbor_strict.Limits(
        max_size=max_size, max_depth=3, max_items=8, allowed_tags=frozenset({COSE_ENCRYPT0_TAG})
    )
    outer = cbor_strict.decode(data, limits)
    if not isinstance(outer, cbor2.CBORTag) or outer.tag != COSE_ENCRYPT0_TAG:
        raise DecodeError("expected a COSE_Encrypt0 with tag 16")
    parts: Any = outer.value
    if not isinstance(parts, list) or len(parts) != 3:
        raise DecodeError("COSE_Encrypt0 is an array of three items")
    protected, unprotected, ciphertext = parts
    if protected != _PROTECTED or not isinstance(ciphertext, bytes):
        raise DecodeError("the protected header must be exactly {1: 3} (A256GCM)")
    if (
        not isinstance(unprotected, dict)
        or set(unprotected) != {_IV}
        or not isinstance(unprotected[_IV], bytes)
    ):
        raise DecodeError("the unprotected header holds exactly a 12-byte IV")
    if len(unprotected[_IV]) != _NONCE_SIZE:
        raise DecodeError("the unprotected header holds exactly a 12-byte IV")
    try:
        plaintext = COSE_CODEC.decode(data, key)
    except (CWTError, ValueError, TypeError, KeyError) as err:
        raise DecodeError("sealed value does not open with this door's key") from err
    assert isinstance(plaintext, bytes)
    return plaintext


def kid_tag(raw_seal_key: bytes, kid: bytes) -> bytes:
    """What Door Info publishes instead of an issuer kid: HMAC-SHA256(seal key, kid)[0:8].

    The service can match it to a kid; a sniffer cannot tell which carriers a building accepts.
    """
    return hmac.new(raw_seal_key, kid, hashlib.sha256).digest()[:8]
