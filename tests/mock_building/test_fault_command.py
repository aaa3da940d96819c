"""`mock-building fault` aims where the driver app does, names the URL it tried, lists fault names."""

from __future__ import annotations

import socket

import pytest

from mock_building.building.fault_client import DOOR_FAULTS, SERVICE_FAULTS
from mock_building.cli import main


@pytest.fixture
def closed_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


@pytest.fixture(autouse=True)
def _no_app_config(monkeypatch, tmp_path) -> None:
    empty = tmp_path / "app-config.toml"
    empty.write_text("")
    monkeypatch.setenv("LOBBYKEY_CONFIG", str(empty))
    monkeypatch.delenv("LOBBYKEY_ACCESS_URL", raising=False)


def _fails(capsys, argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


def test_unknown_door_fault_lists_the_valid_names(capsys) -> None:
    err = _fails(capsys, ["fault", "ELM-N", "jamed=on"])
    assert "[unknown_fault]" in err and "did you mean 'jammed'?" in err
    assert all(name in err for name in DOOR_FAULTS)


def test_unknown_service_fault_lists_the_valid_names(capsys) -> None:
    err = _fails(capsys, ["fault", "--service", "offline=on"])
    assert "unknown service fault 'offline'" in err and all(name in err for name in SERVICE_FAULTS)


def test_the_environment_names_the_building_and_the_error_names_the_url(
    monkeypatch, capsys, closed_url
) -> None:
    monkeypatch.setenv("LOBBYKEY_ACCESS_URL", closed_url)
    err = _fails(capsys, ["fault", "ELM-N", "jammed=on"])
    assert "from $LOBBYKEY_ACCESS_URL" in err
    tried = f"{closed_url}/v1/admin/doors/ELM-N/faults"
    assert f"[building_unreachable]: cannot reach the building at {tried}" in err


def test_the_driver_apps_config_file_names_the_building(monkeypatch, tmp_path, capsys, closed_url) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'access_url = "{closed_url}"\n')
    monkeypatch.setenv("LOBBYKEY_CONFIG", str(config))
    err = _fails(capsys, ["fault", "--service", "down=on"])
    assert f"fault: building {closed_url} (from {config})" in err
    assert f"cannot reach the building at {closed_url}/v1/admin/faults" in err


def test_a_missing_explicit_config_is_an_error(monkeypatch, tmp_path, capsys) -> None:
    monkeypatch.setenv("LOBBYKEY_CONFIG", str(tmp_path / "nope.toml"))
    err = _fails(capsys, ["fault", "--service", "down=on"])
    assert "[invalid_config]" in err and "config file not found" in err
