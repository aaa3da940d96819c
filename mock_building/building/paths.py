"""Where the mock building keeps its state by default (created lazily, per user)."""

from __future__ import annotations

from pathlib import Path

import platformdirs

__all__ = ["default_data_dir", "live_log_file"]


def default_data_dir(scenario_name: str) -> Path:
    """One directory per scenario, so the demo and a QA scenario never share a database or doors."""
    return Path(platformdirs.user_data_dir("lobbykey", appauthor=False)) / "mock-building" / scenario_name


def live_log_file() -> Path:
    """Where `up` logs while its live view owns the terminal (outside the data dir: `--fresh` wipes that)."""
    return Path(platformdirs.user_log_dir("lobbykey", appauthor=False)) / "mock-building.log"
