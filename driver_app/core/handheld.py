"""The handheld's Ed25519 keys and session, kept only in the credential store.

The driver id is stored beside the refresh token it belongs to, so a resumed session knows whose it is.
Each driver who signs in on a shared handheld gets a key of their own: the service registers a key
to one driver, and a grant bound to one driver's key must never be usable by another.
"""

from __future__ import annotations

from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from driver_app.core.ports import CredentialStore

HANDHELD_KEY = "handheld_key"
REFRESH_TOKEN = "refresh_token"  # noqa: S105 (the credential-store entry name, not a secret)
DRIVER_ID = "driver_id"


def handheld_key_entry(driver_id: str | None) -> str:
    """The credential-store entry of `driver_id`'s key on this handheld (unknown driver: the shared one)."""
    return HANDHELD_KEY if driver_id is None else f"{HANDHELD_KEY}:{driver_id}"


def handheld_key(
    credentials: CredentialStore, generate: Callable[[], Ed25519PrivateKey], driver_id: str | None
) -> Ed25519PrivateKey:
    """The driver's stored key, or a new one stored first: a driver keeps one key across sessions."""
    entry = handheld_key_entry(driver_id)
    raw = credentials.get(entry)
    if raw is not None:
        return Ed25519PrivateKey.from_private_bytes(raw)
    key = generate()
    credentials.put(entry, key.private_bytes_raw())
    return key


def public_raw(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
