"""What each stop of a run may end as: "delivered", or reason codes of injected faults.

Expectations come from the scenario file the mock building runs (`--scenario`): each package of a
stop may carry `expect = "door_jammed"` (no `expect` means "delivered"). A building with several
doors can have one faulty and one healthy door, and the scenario does not say which package goes
through which door: each package's expectation must be seen at some door of its stop, and every door
the runner tries must end in one of the stop's expectations. Without a scenario every package expects
"delivered".
(The HTTP Route deliberately carries no QA data: it is what production drivers see.)
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from driver_app.runner.report import DELIVERED

__all__ = ["DELIVERED", "expected_outcome", "load_expectations"]


def load_expectations(scenario_path: Path, driver_id: str) -> Mapping[str, str]:
    """Package id → the outcome expected for it, for `driver_id`'s route in the scenario."""
    # The QA runner reads the mock building's own scenario loader; the app itself never does.
    from mock_building.scenario.loader import load_scenario

    scenario = load_scenario(scenario_path)
    return {
        package.id: package.expect or DELIVERED
        for route in scenario.routes
        if route.driver == driver_id
        for stop in route.stops
        for package in stop.packages
    }


def expected_outcome(expectations: Mapping[str, str], package_id: str) -> str:
    return expectations.get(package_id, DELIVERED)
