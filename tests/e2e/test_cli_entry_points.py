"""The console scripts exist and answer --help."""

import subprocess
import sys

import pytest


@pytest.mark.parametrize("module", ["driver_app.cli", "mock_building.cli"])
def test_help_exits_zero_and_describes_the_tool(module: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", module, "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "LobbyKey" in result.stdout
