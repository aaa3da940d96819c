"""`driver-app run-route` refuses bad set-ups with a clear message and exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from driver_app.cli import main


def test_a_missing_label_folder_is_a_setup_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run-route", "--labels", str(tmp_path / "nowhere")]) == 2
    assert "no label folder" in capsys.readouterr().err


def test_an_unreachable_service_is_a_setup_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run-route", "--labels", str(tmp_path), "--access-url", "http://127.0.0.1:9"])
    assert code == 2
    err = capsys.readouterr().err
    assert "Access service unreachable" in err and "service_unreachable" in err
