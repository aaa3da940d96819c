"""Keyring backend vetting with keyring's real backends, and the stores' behaviour."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from keyring.backend import KeyringBackend
from keyring.backends import SecretService, Windows, chainer, fail, kwallet, libsecret, macOS, null
from keyring.errors import PasswordDeleteError

from driver_app.adapters.credentials_keyring import (
    KeyringCredentialStore,
    insecurity,
    open_credential_store,
)
from driver_app.adapters.credentials_memory import MemoryCredentialStore
from driver_app.core.errors import CredentialsUnavailable


class DictKeyring(KeyringBackend):
    """A working in-memory backend standing in for an OS keyring (Secret Service, macOS, Windows)."""

    priority = -1  # never picked by keyring's own discovery

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.data.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.data[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if (service, username) not in self.data:
            raise PasswordDeleteError(username)
        del self.data[(service, username)]


class PlaintextKeyring(DictKeyring):
    """Named like keyrings.alt's plain-text file backend."""


@pytest.mark.parametrize("backend", [fail.Keyring(), null.Keyring()])
def test_fail_and_null_backends_are_refused_without_opt_in(backend: KeyringBackend) -> None:
    with pytest.raises(CredentialsUnavailable) as caught:
        open_credential_store(backend=backend)
    assert caught.value.reason == "insecure_keyring"
    assert "--allow-insecure-keyring" in str(caught.value)


def test_opt_in_gives_a_session_only_memory_store_that_says_why() -> None:
    store = open_credential_store(backend=fail.Keyring(), allow_insecure=True)
    assert isinstance(store, MemoryCredentialStore)
    assert store.persistent is False
    assert "fail.Keyring" in store.description


def test_plaintext_backend_is_insecure() -> None:
    assert "PlaintextKeyring" in (insecurity(PlaintextKeyring()) or "")


class JsonHomeKeyring(DictKeyring):
    """An unknown third-party backend that writes secrets as JSON into a file under $HOME."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path

    def set_password(self, service: str, username: str, password: str) -> None:
        super().set_password(service, username, password)
        self.path.write_text(json.dumps({f"{s}/{u}": p for (s, u), p in self.data.items()}))


def test_an_unknown_third_party_backend_is_refused_by_name(tmp_path: Path) -> None:
    backend = JsonHomeKeyring(tmp_path / ".secrets.json")
    with pytest.raises(CredentialsUnavailable) as caught:
        open_credential_store(backend=backend)
    assert caught.value.reason == "insecure_keyring"
    assert "JsonHomeKeyring" in str(caught.value) and "--allow-insecure-keyring" in str(caught.value)
    # With the opt-in, secrets stay in memory: nothing reaches the backend's file.
    store = open_credential_store(backend=backend, allow_insecure=True)
    store.put("refresh_token", b"live-token")
    assert isinstance(store, MemoryCredentialStore) and "JsonHomeKeyring" in store.description
    assert not (tmp_path / ".secrets.json").exists()


@pytest.mark.parametrize(
    "backend",
    [
        SecretService.Keyring(),
        libsecret.Keyring(),
        kwallet.DBusKeyring(),
        macOS.Keyring(),
        Windows.WinVaultKeyring(),
    ],
    ids=lambda backend: type(backend).__module__,
)
def test_the_known_secure_keyrings_are_allowed(backend: KeyringBackend) -> None:
    assert insecurity(backend) is None


def test_chainer_is_judged_by_what_it_chains(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [])
    assert insecurity(chainer.ChainerBackend()) is not None
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [PlaintextKeyring()])
    assert insecurity(chainer.ChainerBackend()) is not None
    # A chain writes to the first backend that accepts: one unknown backend in it is enough to refuse.
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [SecretService.Keyring(), DictKeyring()])
    assert "DictKeyring" in (insecurity(chainer.ChainerBackend()) or "")
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [SecretService.Keyring(), kwallet.DBusKeyring()])
    assert insecurity(chainer.ChainerBackend()) is None


def test_the_default_keyring_of_this_machine_is_vetted() -> None:
    """This machine has no Secret Service: keyring falls back to fail.Keyring, which must be refused."""
    import keyring

    backend = keyring.get_keyring()
    if insecurity(backend) is None:
        pytest.skip(f"a real keyring is available here: {backend!r}")
    with pytest.raises(CredentialsUnavailable):
        open_credential_store()


def test_a_good_backend_round_trips_binary_secrets() -> None:
    backend = DictKeyring()
    store = KeyringCredentialStore(backend)  # the store itself; vetting is tested above
    assert store.persistent
    secret = bytes(range(256))
    store.put("handheld_key", secret)
    assert store.get("handheld_key") == secret
    assert all(isinstance(v, str) for v in backend.data.values())
    store.delete("handheld_key")
    store.delete("handheld_key")  # deleting what is gone is fine
    assert store.get("handheld_key") is None


def test_a_backend_failing_at_run_time_is_a_credentials_error() -> None:
    store = KeyringCredentialStore(fail.Keyring())
    with pytest.raises(CredentialsUnavailable) as caught:
        store.put("refresh_token", b"x")
    assert caught.value.reason == "keyring_failed"


def test_memory_store_round_trips() -> None:
    store = MemoryCredentialStore()
    assert "DEMO" in store.description
    store.put("a", b"1")
    assert store.get("a") == b"1"
    store.delete("a")
    store.delete("a")
    assert store.get("a") is None
