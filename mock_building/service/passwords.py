"""Password hashing with scrypt (stdlib); the cost travels inside the hash so it can change later."""

from __future__ import annotations

import hashlib
import hmac
import os

__all__ = ["DEFAULT_COST", "hash_password", "verify_password"]

DEFAULT_COST = 2**14  # scrypt N; benches seeding hundreds of drivers may pass a lower one


def hash_password(password: str, *, cost: int = DEFAULT_COST) -> str:
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=cost, r=8, p=1, dklen=32)
    return f"scrypt${cost}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, cost, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        candidate = hashlib.scrypt(
            password.encode(), salt=bytes.fromhex(salt), n=int(cost), r=8, p=1, dklen=32
        )
    except ValueError:
        return False
    return hmac.compare_digest(candidate, bytes.fromhex(digest))
