"""The handheld's Ed25519 key and session, kept only in the credential store.

The driver id is stored beside the refresh token it belongs to, so a resumed session knows whose it is.
"""

from __future__ import annotations

from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from driver_app.core.ports import CredentialStore

HANDHELD_KEY = "handheld_key"
REFRESH_TOKEN = "refresh_token"  # noqa: S105 (the credential-store entry name, not a secret)
DRIVER_ID = "driver_id"


def handheld_key(
    credentials: CredentialStore, generate: Callable[[], Ed25519PrivateKey]
) -> Ed25519PrivateKey:
    """The stored key, or a new one stored first: a handheld keeps one key across sessions."""
    raw = credentials.get(HANDHELD_KEY)
    if raw is not None:
        return Ed25519PrivateKey.from_private_bytes(raw)
    key = generate()
    credentials.put(HANDHELD_KEY, key.private_bytes_raw())
    return key


def public_raw(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
