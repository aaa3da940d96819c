"""The mock building's logging, set up once by the CLI: plain lines on stderr, or a file.

Headless runs (CI, `driver-app demo`'s child, scripts) log to stderr, next to the plain status lines
on stdout. The live view owns the terminal, so `up` with it logs to a file instead.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

__all__ = ["configure_logging"]

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(log_file: Path | None = None, *, level: int = logging.INFO) -> None:
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
    handler = (
        logging.FileHandler(log_file, encoding="utf-8") if log_file else logging.StreamHandler(sys.stderr)
    )
    handler.setFormatter(logging.Formatter(_FORMAT))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("bumble").setLevel(logging.WARNING)  # per-packet chatter at INFO
    logging.getLogger("alembic").setLevel(logging.WARNING)  # a line per plugin each time a database opens
