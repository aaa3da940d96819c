"""`driver-app tui`: flags override settings; no safe keyring and no opt-in is a clear refusal."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from driver_app.cli import build_parser
from driver_app.tui.cli import settings_from


def test_flags_override_only_what_they_name(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LOBBYKEY_ACCESS_URL", "https://env.invalid:1")
    args = build_parser().parse_args(
        ["tui", "--ble-mode", "sim", "--camera", "labels/", "--data-dir", str(tmp_path)]
    )
    settings = settings_from(args)
    assert settings.access_url == "https://env.invalid:1"  # not given as a flag: the environment decides
    assert (settings.ble_mode, settings.camera_source, settings.data_dir) == ("sim", "labels/", tmp_path)
    assert settings.allow_insecure_keyring is False


def test_the_default_command_parses_without_tui_flags() -> None:
    assert settings_from(build_parser().parse_args([])).camera_source is None


def test_importing_the_cli_does_not_load_textual() -> None:
    code = "import sys, driver_app.cli; driver_app.cli.build_parser(); print('textual' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "False"


def test_no_secure_keyring_refuses_with_the_reason_and_the_way_out(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        "LOBBYKEY_DATA_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "-m", "driver_app.cli", "tui"], capture_output=True, text=True, timeout=60, env=env
    )
    assert result.returncode == 2
    assert "No secure keyring on this device" in result.stderr
    assert "--allow-insecure-keyring" in result.stderr


def test_run_wires_the_real_workflow_memory_only_but_not_as_a_demo(monkeypatch, tmp_path: Path) -> None:
    import keyring
    from keyring.backends.fail import Keyring as FailKeyring

    from driver_app.core.workflow import DriverWorkflow
    from driver_app.tui.app import DriverApp
    from driver_app.tui.cli import run

    monkeypatch.setattr(keyring, "get_keyring", FailKeyring)
    started: list[DriverApp] = []
    monkeypatch.setattr(DriverApp, "run", lambda self: started.append(self))
    args = build_parser().parse_args(
        ["tui", "--allow-insecure-keyring", "--data-dir", str(tmp_path), "--camera", "0"]
    )
    assert run(args) == 0
    (app,) = started
    assert isinstance(app.workflow, DriverWorkflow)
    assert app.memory_only and not app.workflow.credentials_persistent
    assert not app.demo  # an insecure keyring is not the demo: no DEMO label on a real session
    assert app.camera is not None and app.settings.camera_source == "0"
