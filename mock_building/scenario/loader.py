"""Reading a scenario file: TOML in, the frozen models of `mock_building.scenario.model` out.

The service, the emulated doors, the label printer and the QA runner all read the same scenario, so
keys are derived from its `seed` (see `mock_building.scenario.keys`; mock only). Loading is strict:
unknown keys, wrong types and dangling references fail with a `ScenarioError` naming the file and
the key path (`doors[1].id`).
"""

from __future__ import annotations

import difflib
import re
import tomllib
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from mock_building.errors import ScenarioError
from mock_building.scenario.model import (
    Building,
    Carrier,
    DeliveryWindow,
    Door,
    DoorFaultSettings,
    Driver,
    Package,
    Route,
    Scenario,
    ServiceFaultSettings,
    ServiceSettings,
    Stop,
)

__all__ = [
    "Building",
    "Carrier",
    "DeliveryWindow",
    "Door",
    "DoorFaultSettings",
    "Driver",
    "Package",
    "Route",
    "Scenario",
    "ScenarioError",
    "ServiceFaultSettings",
    "ServiceSettings",
    "Stop",
    "default_scenario_path",
    "load_scenario",
    "parse_scenario",
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
        found = re.search(r"at line (\d+)", str(err))
        line = int(found.group(1)) if found else None
        raise ScenarioError("", f"not valid TOML: {err}", source=source, line=line) from err
    except ValidationError as err:
        errors = err.errors()
        # A misspelt required key is both "missing" and "unknown": the unknown one says what to fix.
        first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        key = _key_path(first["loc"])
        message = _message(first["type"], first["msg"], first.get("ctx"), first["loc"])
        raise ScenarioError(key, message, source=source, line=_line_of(key, text)) from err
    except ScenarioError as err:
        raise ScenarioError(err.key, err.detail, source=source) from err


def _key_path(loc: tuple[int | str, ...]) -> str:
    """`("doors", 2, "colour")` -> `doors[2].colour`."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else part)
    return path


def _message(kind: str, message: str, context: Mapping[str, Any] | None, loc: tuple[int | str, ...]) -> str:
    """Our validators' own words for value errors; plain words for unknown and missing keys, with the
    key meant when an unknown one is close to a known one."""
    if kind == "value_error" and context is not None and "error" in context:
        return str(context["error"])
    text = _MESSAGES.get(kind, message)
    if kind == "extra_forbidden" and loc:
        near = difflib.get_close_matches(str(loc[-1]), sorted(_known_keys(Scenario)), n=1)
        text += f" (did you mean {near[0]!r}?)" if near else ""
    return text


def _known_keys(model: type[BaseModel]) -> set[str]:
    """Every key any table of a scenario may have (for did-you-mean)."""
    keys: set[str] = set()
    for name, field in model.model_fields.items():
        keys.add(field.alias or name)
        pending: list[object] = [field.annotation]
        while pending:
            kind = pending.pop()
            if isinstance(kind, type) and issubclass(kind, BaseModel) and kind is not model:
                keys |= _known_keys(kind)
            pending.extend(typing.get_args(kind))
    return keys


def _line_of(key: str, text: str) -> int | None:
    """The key's line when it is certain: its last name appears as a key on exactly one line."""
    leaf = re.sub(r"\[\d+\]$", "", key.rsplit(".", 1)[-1])
    if not leaf:
        return None
    pattern = re.compile(rf"^\s*[\"']?{re.escape(leaf)}[\"']?\s*=")
    lines = [n for n, line in enumerate(text.splitlines(), start=1) if pattern.match(line)]
    return lines[0] if len(lines) == 1 else None
