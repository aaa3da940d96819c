"""Deterministic keys for the MOCK building only.

Every carrier, door and service secret is derived from the scenario seed with HKDF-SHA256, so
parcel labels, emulated doors and the access service agree on keys across processes without a
key exchange. Never do this in production: anyone who knows the seed knows every private key.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["derive_ed25519_key", "derive_secret"]


def derive_secret(seed: str | bytes, label: str, length: int = 32) -> bytes:
    """HKDF-SHA256(seed, info=label): independent secrets for independent labels."""
    material = seed.encode() if isinstance(seed, str) else seed
    return HKDF(
        algorithm=hashes.SHA256(), length=length, salt=b"lobbykey-mock-v1", info=label.encode()
    ).derive(material)


def derive_ed25519_key(seed: str | bytes, label: str) -> Ed25519PrivateKey:
    """An Ed25519 private key for `label` (e.g. "carrier:parcelco", "door:ELM-N")."""
    return Ed25519PrivateKey.from_private_bytes(derive_secret(seed, label))
