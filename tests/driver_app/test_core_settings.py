"""Settings come from flags, then LOBBYKEY_* environment, then the config file, then defaults."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from driver_app.settings import BleMode, Settings


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "config.toml"
    monkeypatch.setenv("LOBBYKEY_CONFIG", str(path))
    for name in ("LOBBYKEY_ACCESS_URL", "LOBBYKEY_BLE_MODE", "LOBBYKEY_RADIO_ADDRESS"):
        monkeypatch.delenv(name, raising=False)
    return path


def test_defaults_without_a_config_file(config: Path) -> None:
    settings = Settings()
    assert settings.access_url == "http://127.0.0.1:8750"
    assert settings.ble_mode is BleMode.SYSTEM
    assert settings.radio_host_port() == ("127.0.0.1", 8751)


def test_precedence_flags_over_env_over_file(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config.write_text('access_url = "https://file:1"\nble_mode = "sim"\nradio_address = "10.0.0.1:9"\n')
    monkeypatch.setenv("LOBBYKEY_ACCESS_URL", "https://env:2")
    settings = Settings(radio_address="127.0.0.1:7000")
    assert settings.access_url == "https://env:2"
    assert settings.ble_mode is BleMode.SIM
    assert settings.radio_address == "127.0.0.1:7000"


def test_a_mistyped_config_key_is_a_clear_error(config: Path) -> None:
    config.write_text('acess_url = "http://typo"\n')
    with pytest.raises(ValidationError, match="acess_url"):
        Settings()


def test_a_bad_ble_mode_is_refused(config: Path) -> None:
    with pytest.raises(ValidationError, match="ble_mode"):
        Settings(ble_mode="bluetooth-please")  # type: ignore[arg-type]  # deliberately invalid: it must be refused
