"""Reading a scenario file: TOML in, the frozen models of `mock_building.scenario.model` out.

The service, the emulated doors, the label printer and the QA runner all read the same scenario, so
keys are derived from its `seed` (see `mock_building.scenario.keys`; mock only). Loading is strict:
unknown keys, wrong types and dangling references fail with a `ScenarioError` naming the file and
the key path (`doors[1].id`).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from mock_building.errors import ScenarioError
from mock_building.scenario.model import (
    Building, Carrier, DeliveryWindow, Door, DoorFaultSettings, Driver, Package, Route, Scenario,
    ServiceFaultSettings, ServiceSettings, Stop,
)

__all__ = [
    "Building", "Carrier", "DeliveryWindow", "Door", "DoorFaultSettings", "Driver", "Package", "Route",
    "Scenario", "ScenarioError", "ServiceFaultSettings", "ServiceSettings", "Stop", "default_scenario_path",
    "load_scenario", "parse_scenario",
]

_MESSAGES = {"extra_forbidden": "unknown key", "missing": "required key is missing"}


def default_scenario_path() -> Path:
    """The bundled demo scenario."""
    return Path(__file__).parents[1] / "scenarios" / "demo.toml"


def load_scenario(path: str | Path) -> Scenario:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ScenarioError("", f"cannot read scenario {path}: {err.strerror}", source=str(path)) from err
    return parse_scenario(text, base_dir=path.parent, source=str(path))


def parse_scenario(text: str, *, base_dir: Path = Path("."), source: str | None = None) -> Scenario:
    """`source` names the file in errors; `base_dir` is where relative `key_file`s are found."""
    try:
        data = tomllib.loads(text)
        return Scenario.model_validate(data, context={"base_dir": base_dir})
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError("", f"not valid TOML: {err}", source=source) from err
    except ValidationError as err:
        first = err.errors()[0]
        message = _message(first["type"], first["msg"], first.get("ctx"))
        raise ScenarioError(_key_path(first["loc"]), message, source=source) from err
    except ScenarioError as err:
        raise ScenarioError(err.key, err.detail, source=source) from err


def _key_path(loc: tuple[int | str, ...]) -> str:
    """`("doors", 2, "colour")` -> `doors[2].colour`."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else part)
    return path


def _message(kind: str, message: str, context: Mapping[str, Any] | None) -> str:
    """Our validators' own words for value errors; plain words for unknown and missing keys."""
    if kind == "value_error" and context is not None and "error" in context:
        return str(context["error"])
    return _MESSAGES.get(kind, message)
