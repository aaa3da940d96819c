"""`mock-building up --headless` logs plain lines to stderr (its status lines stay on stdout)."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

from tests.building_process import up_command


def test_headless_up_logs_to_stderr(tmp_path: Path) -> None:
    process = subprocess.Popen(
        up_command(tmp_path / "data"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:  # blocks until the building says it is ready (pytest's timeout bounds it)
            if line.strip() == "ready":
                break
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert "INFO mock_building.building.running: building up: access service http://127.0.0.1:" in err
    assert "building up" not in out and out.rstrip().endswith("stopped")
