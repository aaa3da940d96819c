"""Secrets in the OS keyring via `keyring`, refusing backends that would not keep them safe.

`keyring` falls back to a backend that fails on every call, and keyrings.alt offers plain-text files;
neither may silently receive a refresh token or the handheld key. Such a keyring is refused unless the
user opts in (`--allow-insecure-keyring`), and then secrets live in memory for this session only.
"""

from __future__ import annotations

import base64

import keyring
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail, null
from keyring.errors import KeyringError, PasswordDeleteError

from driver_app.adapters.credentials_memory import MemoryCredentialStore
from driver_app.core.errors import ClientReason, CredentialsUnavailable
from driver_app.core.ports import CredentialStore

SERVICE_NAME = "lobbykey-driver-app"


def _name(backend: KeyringBackend) -> str:
    return f"{type(backend).__module__}.{type(backend).__qualname__}"


def insecurity(backend: KeyringBackend) -> str | None:
    """Why `backend` must not hold secrets, or None when it is a real keyring."""
    if isinstance(backend, fail.Keyring | null.Keyring):
        return f"no usable keyring ({_name(backend)})"
    if isinstance(backend, chainer.ChainerBackend):
        problems = [insecurity(inner) for inner in backend.backends]
        if all(problems):
            return f"no usable keyring in the chain ({'; '.join(p for p in problems if p) or 'empty'})"
        return None
    if "plaintext" in type(backend).__name__.lower() or type(backend).__module__ == "keyrings.alt.file":
        return f"keyring stores secrets in plain text ({_name(backend)})"
    return None


class KeyringCredentialStore:
    """Implements `CredentialStore` on one vetted keyring backend; bytes are stored base64-encoded."""

    def __init__(self, backend: KeyringBackend, service: str = SERVICE_NAME) -> None:
        self._backend = backend
        self._service = service

    @property
    def description(self) -> str:
        return f"OS keyring ({_name(self._backend)})"

    @property
    def persistent(self) -> bool:
        return True

    def get(self, name: str) -> bytes | None:
        try:
            text = self._backend.get_password(self._service, name)
        except KeyringError as err:
            raise CredentialsUnavailable(ClientReason.KEYRING_FAILED, str(err)) from err
        return None if text is None else base64.b64decode(text)

    def put(self, name: str, secret: bytes) -> None:
        try:
            self._backend.set_password(self._service, name, base64.b64encode(secret).decode())
        except KeyringError as err:
            raise CredentialsUnavailable(ClientReason.KEYRING_FAILED, str(err)) from err

    def delete(self, name: str) -> None:
        try:
            self._backend.delete_password(self._service, name)
        except PasswordDeleteError:
            return
        except KeyringError as err:
            raise CredentialsUnavailable(ClientReason.KEYRING_FAILED, str(err)) from err


def open_credential_store(
    *, allow_insecure: bool = False, backend: KeyringBackend | None = None
) -> CredentialStore:
    """The OS keyring if it is safe; memory for this session if not and the user opted in; else refuse."""
    backend = backend if backend is not None else keyring.get_keyring()
    problem = insecurity(backend)
    if problem is None:
        return KeyringCredentialStore(backend)
    if allow_insecure:
        return MemoryCredentialStore(f"memory only, this session ({problem})")
    raise CredentialsUnavailable(
        ClientReason.INSECURE_KEYRING, f"{problem}; start with --allow-insecure-keyring to continue"
    )
