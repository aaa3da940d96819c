"""What each stop of a run may end as: "delivered", or reason codes of injected faults.

Expectations come from the scenario file the mock building runs (`--scenario`): each package of a
stop may carry `expect = "door_jammed"` (no `expect` means "delivered"). A building with several
doors can have one faulty and one healthy door, and the scenario does not say which package goes
through which door, so a stop's expectation is the *set* of its packages' outcomes: every door the
runner tries must end in one of them. Without a scenario every stop expects "delivered".
(The HTTP Route deliberately carries no QA data: it is what production drivers see.)
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

DELIVERED = "delivered"


def load_expectations(scenario_path: Path, driver_id: str) -> Mapping[str, frozenset[str]]:
    """Stop id → the outcomes its attempts may end in, for `driver_id`'s route in the scenario."""
    # The QA runner reads the mock building's own scenario loader; the app itself never does.
    from mock_building.scenario.loader import load_scenario

    scenario = load_scenario(scenario_path)
    return {
        stop.id: frozenset(package.expect or DELIVERED for package in stop.packages)
        for route in scenario.routes
        if route.driver == driver_id
        for stop in route.stops
    }


def expected_outcomes(expectations: Mapping[str, frozenset[str]], stop_id: str) -> frozenset[str]:
    return expectations.get(stop_id, frozenset({DELIVERED}))
