"""The driver app's log: one rotating file in the user log directory, configured once per process.

A handheld in the field has no one watching its terminal, so support asks for this file. It must
never hold a secret: the formatter masks anything shaped like a credential (bearer tokens, token
and password fields, long base64url or hex runs such as grants, keys and signatures) in every line,
tracebacks included, whatever the logger that wrote it.
"""

from __future__ import annotations

import logging
import re
from logging.handlers import RotatingFileHandler
from pathlib import Path

from driver_app.paths import ensure_dir, log_file

__all__ = ["MASK", "RedactingFormatter", "configure_logging", "current_log_file", "log_handler", "redact"]

MASK = "[redacted]"
_MAX_BYTES = 1_000_000
_BACKUPS = 3
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Loggers that chatter at INFO about every request or packet; their warnings still come through.
_QUIET = ("httpx", "httpcore", "bleak", "bumble", "asyncio")
_SECRETS = (
    # `Authorization: Bearer <token>` and friends
    re.compile(r"(?i)\b(bearer|basic)\s+[^\s\"',]+"),
    # key = value, key: value and JSON "key": "value" for secret-bearing keys
    re.compile(
        r"(?i)([\"']?\b[\w-]*(?:token|password|passwd|secret|private_key|api_key|authorization)[\w-]*\b[\"']?"
        r"\s*[:=]\s*)(\"[^\"]*\"|'[^']*'|[^\s,;}&]+)"
    ),
    # long base64url / hex runs: grants, keys, signatures, refresh tokens
    re.compile(r"(?<![\w/.-])[A-Za-z0-9_-]{32,}={0,2}(?![\w/.-])"),
)

_UUID = re.compile(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")  # ids support needs, not secrets

_configured: Path | None = None


def redact(text: str) -> str:
    """`text` with every credential-shaped part replaced by MASK."""
    text = _SECRETS[0].sub(lambda m: f"{m.group(1)} {MASK}", text)
    text = _SECRETS[1].sub(lambda m: f"{m.group(1)}{MASK}", text)
    return _SECRETS[2].sub(lambda m: m.group() if _UUID.fullmatch(m.group()) else MASK, text)


class RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def configure_logging(path: Path | None = None, *, level: int = logging.INFO) -> Path:
    """Send the process's logs to `path` (default: the user log dir); later calls keep the first file."""
    global _configured
    if _configured is not None:
        return _configured
    target = path or log_file()
    root = logging.getLogger()
    root.addHandler(log_handler(target))
    root.setLevel(level)
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    _configured = target
    return target


def log_handler(path: Path, *, max_bytes: int = _MAX_BYTES) -> RotatingFileHandler:
    """The rotating, redacting file handler (`configure_logging` installs one on the root logger)."""
    ensure_dir(path.parent)
    handler = RotatingFileHandler(path, maxBytes=max_bytes, backupCount=_BACKUPS, encoding="utf-8")
    handler.setFormatter(RedactingFormatter(_FORMAT))
    return handler


def current_log_file() -> Path | None:
    """The file this process logs to, for the diagnostics screen (None before `configure_logging`)."""
    return _configured
