"""The factory wires real adapters and refuses an unsafe keyring unless told otherwise."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail

from driver_app.adapters.credentials_memory import MemoryCredentialStore
from driver_app.core.errors import CredentialsUnavailable
from driver_app.factory import build_workflow
from driver_app.settings import Settings


@pytest.fixture
def no_keyring() -> Iterator[None]:
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(previous)


async def test_demo_credentials_are_marked_not_persistent(tmp_path: Path) -> None:
    workflow = build_workflow(Settings(data_dir=tmp_path), credentials=MemoryCredentialStore())
    assert workflow.credentials_persistent is False
    assert "DEMO" in workflow.credentials_description
    assert (tmp_path / "outbox.sqlite3").exists()
    assert workflow.state.outbox_size == 0
    await workflow.aclose()


async def test_without_a_safe_keyring_the_factory_refuses(tmp_path: Path, no_keyring: None) -> None:
    with pytest.raises(CredentialsUnavailable) as caught:
        build_workflow(Settings(data_dir=tmp_path))
    assert caught.value.reason == "insecure_keyring"


async def test_the_insecure_opt_in_keeps_secrets_for_this_session_only(
    tmp_path: Path, no_keyring: None
) -> None:
    workflow = build_workflow(Settings(data_dir=tmp_path, allow_insecure_keyring=True))
    assert workflow.credentials_persistent is False
    assert "fail.Keyring" in workflow.credentials_description
    await workflow.aclose()
