"""Who drives and what QA expects, read from a mock building's scenario file with `tomllib` alone.

The driver app never imports `mock_building`; a fleet run only needs the drivers' credentials and
each package's `expect`, which this reads without validating the rest (the building did that).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DELIVERED = "delivered"


class ScenarioFileError(ValueError):
    """The file is not a scenario this reader understands; the message says where."""


@dataclass(frozen=True)
class FleetDriver:
    driver_id: str
    password: str = field(repr=False)
    expectations: Mapping[str, str] = field(default_factory=dict)
    """Package id → the outcome QA expects for it: "delivered" or a reason code (`runner.expectations`)."""


def read_fleet(path: Path) -> list[FleetDriver]:
    """Every driver of the scenario, in file order, with their route's expectations."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        expectations: dict[str, dict[str, str]] = {}
        for route in _tables(data, "routes"):
            packages = expectations.setdefault(str(route["driver"]), {})
            for stop in _tables(route, "stops"):
                for package in _tables(stop, "packages"):
                    packages[str(package["id"])] = str(package.get("expect") or DELIVERED)
        return [
            FleetDriver(str(d["id"]), str(d["password"]), expectations.get(str(d["id"]), {}))
            for d in _tables(data, "drivers")
        ]
    except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError) as err:
        raise ScenarioFileError(f"cannot read drivers and routes from {path}: {err!r}") from err


def _tables(data: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    tables = data.get(key, [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise TypeError(f"{key} is not an array of tables")
    return tables


def generated_drivers(count: int) -> list[FleetDriver]:
    """`driver0001`… with the passwords `mock-building scenario generate` gives them."""
    return [FleetDriver(f"driver{i:04d}", f"driver{i:04d}-password") for i in range(1, count + 1)]
