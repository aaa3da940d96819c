"""`driver-app tui` (the default command): settings from flags > LOBBYKEY_* env > config file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from driver_app.core.errors import WorkflowError
from driver_app.core.messages import notice_for
from driver_app.settings import BleMode, Settings, load_settings

#: flag destination → Settings field; a flag left out leaves the environment and config file in charge.
_OVERRIDES = {
    "access_url": "access_url",
    "ble_mode": "ble_mode",
    "radio": "radio_address",
    "camera": "camera_source",
    "data_dir": "data_dir",
    "allow_insecure_keyring": "allow_insecure_keyring",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--access-url", help="access service base URL")
    parser.add_argument(
        "--ble-mode", choices=[m.value for m in BleMode], help="system: real doors; sim: a mock building"
    )
    parser.add_argument("--radio", help="sim radio HOST:PORT")
    parser.add_argument("--camera", help="camera device index, video file, image or folder of images")
    parser.add_argument("--data-dir", type=Path, help="where the outbox lives")
    parser.add_argument(
        "--allow-insecure-keyring",
        action="store_true",
        default=None,
        help="without a secure keyring, keep credentials in memory for this session (DEMO)",
    )


def settings_from(args: argparse.Namespace) -> Settings:
    given = {field: getattr(args, flag, None) for flag, field in _OVERRIDES.items()}
    return load_settings(**{field: value for field, value in given.items() if value is not None})


def run(args: argparse.Namespace) -> int:
    """Exit 2 with the core's message when no safe credential store exists and none was allowed."""
    from driver_app.adapters.camera_source import camera_factory
    from driver_app.adapters.clock import SystemClock
    from driver_app.factory import build_workflow
    from driver_app.logs import current_log_file
    from driver_app.tui import create_app

    settings = settings_from(args)  # a ConfigError reaches main(): one line, exit 2
    clock = SystemClock()
    try:
        app = create_app(
            lambda on_change: build_workflow(settings, on_change=on_change, clock=clock),
            settings,
            clock=clock,
            camera=camera_factory(settings.camera_source),
            log_file=current_log_file(),
        )
    except WorkflowError as err:  # the keyring refused (insecure_keyring, keyring_failed)
        notice = notice_for(err.reason)
        print(f"driver-app: {notice.message} ({err.detail}). {notice.next_action}.", file=sys.stderr)
        return 2
    app.run()
    return 0
