"""`protocol` is pure: importing it must not pull in UI, device, network or app packages."""

from __future__ import annotations

import subprocess
import sys

FORBIDDEN = ["textual", "bleak", "bumble", "httpx", "cv2", "keyring", "fastapi", "uvicorn", "driver_app", "mock_building"]


def test_importing_protocol_pulls_in_nothing_forbidden() -> None:
    script = (
        "import sys, pkgutil, importlib, protocol\n"
        "for m in pkgutil.iter_modules(protocol.__path__): importlib.import_module('protocol.' + m.name)\n"
        f"print(' '.join(sorted(n for n in {FORBIDDEN!r} if n in sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""
