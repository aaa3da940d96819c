"""`mock-building` sub-commands answer bad input with a reason code and exit 2, never a traceback."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from mock_building.cli import build_parser, main


def _error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


def test_door_help_documents_real_transports(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["door", "--help"])
    text = capsys.readouterr().out
    assert "usb:0" in text and "hci-socket:0" in text and "--door-id" in text


def test_door_on_an_unusable_transport_is_a_clear_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    err = _error(
        capsys, ["door", "--transport", "nonsense:0", "--door-id", "ELM-N", "--data-dir", str(tmp_path)]
    )
    assert "[transport_unavailable]" in err and "nonsense:0" in err


def test_door_not_in_the_scenario(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    err = _error(capsys, ["door", "--transport", "usb:0", "--door-id", "NOPE", "--data-dir", str(tmp_path)])
    assert "[unknown_door]" in err


def test_labels_with_a_missing_scenario(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    err = _error(capsys, ["labels", "--scenario", str(tmp_path / "missing.toml"), "--out", str(tmp_path)])
    assert "[invalid_scenario]" in err


def test_fault_when_no_building_runs(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    err = _error(capsys, ["fault", "ELM-N", "jammed=on", "--url", f"http://127.0.0.1:{port}"])
    assert "[building_unreachable]" in err


def test_up_on_a_taken_port(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        argv = ["up", "--headless", "--port", "0", "--radio-port", str(port), "--data-dir", str(tmp_path)]
        err = _error(capsys, argv)
    assert "[port_unavailable]" in err and str(port) in err
