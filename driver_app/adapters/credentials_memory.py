"""Secrets kept in process memory only: for the demo, tests, and an explicit insecure opt-in."""

from __future__ import annotations


class MemoryCredentialStore:
    """Implements `CredentialStore`; forgets everything when the app exits (`persistent` is False)."""

    def __init__(self, description: str = "DEMO — credentials kept in memory only") -> None:
        self._description = description
        self._secrets: dict[str, bytes] = {}

    @property
    def description(self) -> str:
        return self._description

    @property
    def persistent(self) -> bool:
        return False

    def get(self, name: str) -> bytes | None:
        return self._secrets.get(name)

    def put(self, name: str, secret: bytes) -> None:
        self._secrets[name] = bytes(secret)

    def delete(self, name: str) -> None:
        self._secrets.pop(name, None)
