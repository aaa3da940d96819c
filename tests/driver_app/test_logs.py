"""The driver app's log file: where it goes, that it rotates, and that no secret ever reaches it."""

from __future__ import annotations

import base64
import json
import logging
import os
import subprocess
import sys
import uuid
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from driver_app.logs import MASK, log_handler
from driver_app.paths import LOG_DIR_ENV
from tests.tui_fakes import make_rig


def test_the_entry_point_logs_to_a_file_in_the_log_directory(tmp_path: Path) -> None:
    env = {**os.environ, LOG_DIR_ENV: str(tmp_path / "logs")}
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import logging, sys\nfrom driver_app.cli import main\n"
            "code = main(['scan', sys.argv[1]])\nlogging.getLogger('support').warning('scan exited %s', code)",
            str(tmp_path / "missing.png"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    log = (tmp_path / "logs" / "driver-app.log").read_text()
    assert "WARNING support: scan exited 1" in log, done.stderr


def test_secrets_never_reach_the_log_file(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate().private_bytes_raw()
    secrets = {
        "refresh": base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("="),
        "password": "hunter2-correct-horse",
        "grant": base64.urlsafe_b64encode(os.urandom(120)).decode().rstrip("="),
        "key_hex": key.hex(),
    }
    logger = logging.getLogger("tests.redaction")
    handler = log_handler(tmp_path / "app.log")
    logger.addHandler(handler)
    delivery = uuid.uuid4()
    try:
        logger.warning("POST /v1/sessions Authorization: Bearer %s", secrets["refresh"])
        logger.warning("body %s", json.dumps({"driver_id": "demo", "password": secrets["password"]}))
        logger.warning("refresh_token=%s; driver demo", secrets["refresh"])
        logger.warning("grant %s for delivery %s", secrets["grant"], delivery)
        logger.warning("handheld key %s", secrets["key_hex"])
        try:
            raise ValueError(f"token rejected: {secrets['refresh']}")
        except ValueError:
            logger.exception("sign-in failed")
    finally:
        logger.removeHandler(handler)
        handler.close()
    log = (tmp_path / "app.log").read_text()
    for name, secret in secrets.items():
        assert secret not in log, name
    assert log.count(MASK) >= 6
    assert str(delivery) in log and "driver demo" in log and "sign-in failed" in log  # the useful rest stays


def test_the_log_file_rotates(tmp_path: Path) -> None:
    logger = logging.getLogger("tests.rotation")
    handler = log_handler(tmp_path / "app.log", max_bytes=2_000)
    logger.addHandler(handler)
    try:
        for line in range(100):
            logger.warning("line %d of a long day at the doors", line)
    finally:
        logger.removeHandler(handler)
        handler.close()
    assert (tmp_path / "app.log.1").exists() and (tmp_path / "app.log").stat().st_size <= 2_000


async def test_diagnostics_shows_the_log_file() -> None:
    rig = make_rig()
    rig.app.log_file = Path("/var/log/lobbykey/driver-app.log")
    assert str(rig.app.environment()["log file"]) == "/var/log/lobbykey/driver-app.log"
    assert "log file" not in make_rig().app.environment()  # not configured: not shown
