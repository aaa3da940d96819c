"""Raw Ed25519 key helpers and the door's store of trusted issuer keys.

Keys travel as 32 raw bytes (RFC 8032), never PEM, so a door can hold them in flash and
a grant's `cnf` can carry one in 35 bytes. An issuer key is pinned to one algorithm:
the header's `alg` must equal the pinned one, so a token cannot pick how it is checked.

Every public key is checked with libsodium's strict point validation (through PyNaCl): a
small-order key (e.g. the identity `01 00..00`) would let a "signature" made without any
private key verify, so such keys, mixed-order ones and non-canonical encodings are refused
with `weak_key` wherever a key enters (enrolment, trust store, a grant's `cnf`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from functools import cached_property, lru_cache
from types import MappingProxyType

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cwt import COSEKey
from cwt.cose_key_interface import COSEKeyInterface
from nacl.bindings import crypto_core_ed25519_is_valid_point, crypto_sign_open
from nacl.exceptions import BadSignatureError

from protocol.errors import KeyFormatError
from protocol.reasons import ReasonCode

__all__ = [
    "KEY_ID_MAX",
    "Alg",
    "TrustStore",
    "TrustedIssuerKey",
    "cose_signing_key",
    "cose_verify_key",
    "derive_key_id",
    "load_private_key",
    "load_public_key",
    "private_key_bytes",
    "public_key_bytes",
    "verify_strict",
]

RAW_KEY_SIZE = 32
KEY_ID_MAX = 16


class Alg(IntEnum):
    """COSE algorithm identifiers (IANA) this protocol allows; only EdDSA in v1."""

    EDDSA = -8


class _CoseKty(IntEnum):
    OKP = 1


class _CoseCrv(IntEnum):
    ED25519 = 6


_VALID_POINTS_MAX = 1024
_valid_points: set[bytes] = set()
"""Public keys that passed point validation; a door sees the same few handhelds and issuers."""


def _check_point(raw: bytes) -> None:
    """Raise KeyFormatError unless `raw` is a strictly valid Ed25519 public key.

    libsodium's validation costs about half a signature check, and its answer depends only on
    the 32 public bytes, so keys that passed are remembered (bounded); refused ones are not.
    """
    if not isinstance(raw, bytes) or len(raw) != RAW_KEY_SIZE:
        raise KeyFormatError("an Ed25519 public key is 32 raw bytes")
    if raw in _valid_points:
        return
    if not crypto_core_ed25519_is_valid_point(raw):
        raise KeyFormatError(
            "not a canonical Ed25519 point of prime order (small-order, mixed-order or non-canonical)",
            ReasonCode.WEAK_KEY,
        )
    if len(_valid_points) >= _VALID_POINTS_MAX:
        _valid_points.clear()
    _valid_points.add(raw)


def load_public_key(raw: bytes) -> Ed25519PublicKey:
    """Parse 32 raw bytes into a public key, or raise KeyFormatError (reason `weak_key` for a
    point that is small-order, mixed-order or not canonically encoded)."""
    _check_point(raw)
    return Ed25519PublicKey.from_public_bytes(raw)


def verify_strict(public_raw: bytes, signature: bytes, message: bytes) -> bool:
    """libsodium's strict Ed25519 verification: refuses S >= L, small-order R and weak keys."""
    _check_point(public_raw)
    if not isinstance(signature, bytes) or len(signature) != 64:
        return False
    try:
        crypto_sign_open(signature + message, public_raw)
    except BadSignatureError:
        return False
    return True


def load_private_key(raw: bytes) -> Ed25519PrivateKey:
    """Parse a 32-byte seed into a private key, or raise KeyFormatError."""
    if not isinstance(raw, bytes) or len(raw) != RAW_KEY_SIZE:
        raise KeyFormatError("an Ed25519 private key is a 32-byte seed")
    return Ed25519PrivateKey.from_private_bytes(raw)


def public_key_bytes(key: Ed25519PublicKey | Ed25519PrivateKey) -> bytes:
    """The 32 raw bytes of the public half of `key`."""
    if isinstance(key, Ed25519PrivateKey):
        key = key.public_key()
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def private_key_bytes(key: Ed25519PrivateKey) -> bytes:
    """The 32-byte seed of `key` (for the credential store; never log it)."""
    return key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )


def derive_key_id(public_raw: bytes, length: int = 8) -> bytes:
    """A short, stable key id: the first `length` bytes of SHA-256 of the raw public key."""
    load_public_key(public_raw)
    if not 1 <= length <= KEY_ID_MAX:
        raise KeyFormatError(f"key id length must be 1..{KEY_ID_MAX}")
    return hashlib.sha256(public_raw).digest()[:length]


def _check_kid(kid: bytes) -> None:
    if not isinstance(kid, bytes) or not 1 <= len(kid) <= KEY_ID_MAX:
        raise KeyFormatError(f"a key id is 1..{KEY_ID_MAX} bytes")


_SIGNERS_MAX = 64  # one per carrier the service signs for, with room for rotations
_signers: dict[tuple[int, bytes], tuple[Ed25519PrivateKey, COSEKeyInterface]] = {}
"""COSE signing keys by (id of the private key object, kid); each entry holds that object."""


def cose_signing_key(key: Ed25519PrivateKey, kid: bytes) -> COSEKeyInterface:
    """A python-cwt signing key bound to `kid` and pinned to EdDSA, built once per key object.

    Building one costs about as much as a signature. The cache is looked up by the key object's
    identity, never by its secret (nothing secret is hashed or compared), and keeps the object
    alive, so no other key can take its id while its entry exists: a rotated-in key object always
    gets its own entry. At most `_SIGNERS_MAX` keys are kept.
    """
    _check_kid(kid)
    cached = _signers.get((id(key), kid))
    if cached is not None:
        return cached[1]
    cose_key = COSEKey.new(
        {
            1: _CoseKty.OKP,
            2: kid,
            3: Alg.EDDSA,
            -1: _CoseCrv.ED25519,
            -2: public_key_bytes(key),
            -4: private_key_bytes(key),
        }
    )
    if len(_signers) >= _SIGNERS_MAX:
        _signers.clear()
    _signers[(id(key), kid)] = (key, cose_key)
    return cose_key


def cose_verify_key(public_raw: bytes, kid: bytes) -> COSEKeyInterface:
    """A python-cwt verification key bound to `kid` and pinned to EdDSA (built once per key and kid)."""
    _check_kid(kid)
    _check_point(public_raw)
    return _cose_verify_key(bytes(public_raw), bytes(kid))


@lru_cache(maxsize=256)
def _cose_verify_key(public_raw: bytes, kid: bytes) -> COSEKeyInterface:
    """Cached by public bytes only: a receipt check built a COSE key per receipt."""
    return COSEKey.new({1: _CoseKty.OKP, 2: kid, 3: Alg.EDDSA, -1: _CoseCrv.ED25519, -2: public_raw})


@dataclass(frozen=True)
class TrustedIssuerKey:
    """One key a door accepts grants from: who signs with it and with which algorithm."""

    kid: bytes
    issuer: str
    public_key: bytes
    alg: Alg = Alg.EDDSA

    def __post_init__(self) -> None:
        _check_kid(self.kid)
        load_public_key(self.public_key)
        if not isinstance(self.issuer, str) or not self.issuer:
            raise KeyFormatError("issuer must be a non-empty string")
        if self.alg not in tuple(Alg):
            raise KeyFormatError(f"algorithm {self.alg!r} is not allowed")

    @cached_property
    def cose_key(self) -> COSEKeyInterface:
        """Built once: constructing COSE keys costs more than verifying a signature."""
        return cose_verify_key(self.public_key, self.kid)


@dataclass(frozen=True)
class TrustStore:
    """Trusted issuer keys by key id; several issuers and overlapping keys during rotation."""

    by_kid: Mapping[bytes, TrustedIssuerKey] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_kid", MappingProxyType(dict(self.by_kid)))

    @classmethod
    def of(cls, keys: Iterable[TrustedIssuerKey]) -> TrustStore:
        """Build a store; a key id may appear only once."""
        by_kid: dict[bytes, TrustedIssuerKey] = {}
        for key in keys:
            if key.kid in by_kid:
                raise KeyFormatError(f"duplicate key id {key.kid.hex()}")
            by_kid[key.kid] = key
        return cls(by_kid)

    def get(self, kid: bytes) -> TrustedIssuerKey | None:
        """The trusted key with id `kid`, or None."""
        return self.by_kid.get(kid)

    @property
    def kids(self) -> tuple[bytes, ...]:
        """Key ids in a stable order (published in DoorInfo)."""
        return tuple(sorted(self.by_kid))
