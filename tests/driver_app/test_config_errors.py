"""Configuration problems are one line naming file:line (or env var / flag) and the key, exit code 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from driver_app.cli import main


def _run(monkeypatch, capsys, config: Path | None, *argv: str) -> tuple[int, str]:
    if config is not None:
        monkeypatch.setenv("LOBBYKEY_CONFIG", str(config))
    for name in ("LOBBYKEY_ACCESS_URL", "LOBBYKEY_BLE_MODE", "LOBBYKEY_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    code = main(list(argv))
    return code, capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'access_url = "https://x"\nacess_url = "y"\n',
            ":2: unknown setting 'acess_url' (did you mean 'access_url'?)",
        ),
        ("ble_mode = \n", ":1: not valid TOML: Invalid value"),
        ('\nble_mode = "bluetooth"\n', ":2: ble_mode: Input should be 'system' or 'sim'"),
        ('[keymap]\n"stop.unlock" = 3\n', ":2: keymap.stop.unlock: Input should be a valid string"),
    ],
)
def test_a_bad_config_file_is_one_line_with_file_line_and_key(
    monkeypatch, capsys, tmp_path, text, expected
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(text)
    code, err = _run(monkeypatch, capsys, config, "tui")
    assert code == 2
    assert err == f"driver-app: {config}{expected}\n"


def test_an_explicit_config_path_that_does_not_exist_is_an_error(monkeypatch, capsys, tmp_path) -> None:
    code, err = _run(monkeypatch, capsys, tmp_path / "nope.toml", "run-route")
    assert code == 2
    assert err == f"driver-app: {tmp_path / 'nope.toml'}: config file not found (named by $LOBBYKEY_CONFIG)\n"


def test_a_data_dir_under_a_regular_file_is_a_clean_error(monkeypatch, capsys, tmp_path) -> None:
    (tmp_path / "afile").write_text("")
    config = tmp_path / "config.toml"
    config.write_text("")
    code, err = _run(monkeypatch, capsys, config, "tui", "--data-dir", str(tmp_path / "afile" / "x"))
    assert code == 2
    assert err.startswith("driver-app: --data-dir: data_dir ") and err.endswith("afile is a file\n")


def test_an_env_var_is_named_when_it_is_the_bad_source(monkeypatch, capsys, tmp_path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("")
    monkeypatch.setenv("LOBBYKEY_CONFIG", str(config))
    monkeypatch.setenv("LOBBYKEY_BLE_MODE", "bluetooth")
    assert main(["tui"]) == 2
    assert capsys.readouterr().err.startswith("driver-app: $LOBBYKEY_BLE_MODE: ble_mode: ")


@pytest.mark.parametrize("module", ["driver_app", "mock_building"])
def test_python_dash_m_and_version(module: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", module, "--version"], check=False, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == module.replace("_", "-")
    assert result.stdout.split()[1][0].isdigit()
