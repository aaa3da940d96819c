"""The workflow core stays free of UI, device and network libraries (STYLE habit 1)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "driver_app" / "core"
FORBIDDEN = (
    "textual",
    "rich",
    "bleak",
    "bumble",
    "httpx",
    "cv2",
    "pyzbar",
    "zxingcpp",
    "keyring",
    "fastapi",
    "uvicorn",
    "mock_building",
    "driver_app.adapters",
    "driver_app.tui",
    "driver_app.scanning",
    "driver_app.adapters.ble_sim",
)


def _is_forbidden(module: str) -> bool:
    return any(module == name or module.startswith(name + ".") for name in FORBIDDEN)


def test_importing_every_core_module_pulls_in_no_forbidden_package() -> None:
    modules = sorted(f"driver_app.core.{p.stem}" for p in CORE.glob("*.py") if p.stem != "__init__")
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "print('\\n'.join(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    loaded = result.stdout.split()
    assert "driver_app.core.workflow" in loaded
    assert [m for m in loaded if _is_forbidden(m)] == []


def test_no_core_source_file_imports_a_forbidden_package() -> None:
    offenders = []
    for path in sorted(CORE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            offenders += [f"{path.name}:{node.lineno} {n}" for n in names if _is_forbidden(n)]
    assert offenders == []
    assert len(list(CORE.glob("*.py"))) >= 8  # the scan really looked at the core
