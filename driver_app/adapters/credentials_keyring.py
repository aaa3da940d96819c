"""Secrets in the OS keyring via `keyring`, and only in a keyring known to keep them safe.

The check is an allowlist: the Secret Service (GNOME Keyring, KeePassXC … over D-Bus or libsecret),
KWallet, the macOS Keychain and the Windows Credential Locker. Anything else — `keyring`'s failing
fallback, keyrings.alt's files, an unknown third-party backend that may write JSON into `$HOME` —
is refused unless the user opts in (`--allow-insecure-keyring`), and then secrets live in memory
for this session only. The refusal names the backend that was found.
"""

from __future__ import annotations

import base64

import keyring
from keyring.backend import KeyringBackend
from keyring.backends import chainer
from keyring.errors import KeyringError, PasswordDeleteError

from driver_app.adapters.credentials_memory import MemoryCredentialStore
from driver_app.core.errors import ClientReason, CredentialsUnavailable
from driver_app.core.ports import CredentialStore

SERVICE_NAME = "lobbykey-driver-app"


def _name(backend: KeyringBackend) -> str:
    return f"{type(backend).__module__}.{type(backend).__qualname__}"


#: Backends (module.class, matched exactly: a subclass elsewhere is not vouched for) → what they are.
SECURE_BACKENDS = {
    "keyring.backends.SecretService.Keyring": "Secret Service",
    "keyring.backends.libsecret.Keyring": "Secret Service (libsecret)",
    "keyring.backends.kwallet.DBusKeyring": "KWallet",
    "keyring.backends.kwallet.DBusKeyringKWallet4": "KWallet 4",
    "keyring.backends.macOS.Keyring": "macOS Keychain",
    "keyring.backends.Windows.WinVaultKeyring": "Windows Credential Locker",
}


def insecurity(backend: KeyringBackend) -> str | None:
    """Why `backend` must not hold secrets, or None when it is one of the known secure keyrings."""
    if isinstance(backend, chainer.ChainerBackend):
        # A chain writes to the first backend that accepts: every one of them must be safe.
        problems = [problem for inner in backend.backends if (problem := insecurity(inner))]
        if not backend.backends:
            return "no usable keyring (an empty chain)"
        return "; ".join(problems) or None
    if _name(backend) in SECURE_BACKENDS:
        return None
    return (
        f"the keyring backend found ({_name(backend)}) is not one known to keep secrets safe "
        f"({', '.join(sorted(set(SECURE_BACKENDS.values())))})"
    )


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
