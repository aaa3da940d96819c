"""Where the driver app keeps its files (XDG on Linux via platformdirs); directories are made on use."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import PlatformDirs

APP_NAME = "lobbykey-driver-app"
CONFIG_ENV = "LOBBYKEY_CONFIG"
LOG_DIR_ENV = "LOBBYKEY_LOG_DIR"

_dirs = PlatformDirs(APP_NAME, appauthor=False)


def config_file() -> Path:
    """$LOBBYKEY_CONFIG, else config.toml in the user config directory (it need not exist)."""
    override = os.environ.get(CONFIG_ENV)
    return Path(override) if override else Path(_dirs.user_config_dir) / "config.toml"


def default_data_dir() -> Path:
    return Path(_dirs.user_data_dir)


def log_file() -> Path:
    """driver-app.log in $LOBBYKEY_LOG_DIR, else in the user log directory (made when logging starts)."""
    override = os.environ.get(LOG_DIR_ENV)
    return Path(override or _dirs.user_log_dir) / "driver-app.log"


def ensure_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def outbox_file(data_dir: Path) -> Path:
    return ensure_dir(data_dir) / "outbox.sqlite3"
