"""Where the mock building keeps its state by default (created lazily, per user)."""

from __future__ import annotations

from pathlib import Path

import platformdirs

__all__ = ["default_data_dir"]


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("lobbykey", appauthor=False)) / "mock-building"
