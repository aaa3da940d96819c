"""Where the mock building keeps its state by default (created lazily, per user)."""

from __future__ import annotations

from pathlib import Path

import platformdirs

__all__ = ["default_data_dir"]


def default_data_dir(scenario_name: str) -> Path:
    """One directory per scenario, so the demo and a QA scenario never share a database or doors."""
    return Path(platformdirs.user_data_dir("lobbykey", appauthor=False)) / "mock-building" / scenario_name
