"""What each stop of a run should end as: "delivered", or the reason code of an injected fault.

Expectations come from the scenario file the mock building runs (`--scenario`): a package may carry
`expect = "door_jammed"` and its stop then expects that code. Without a scenario every stop is
expected to be delivered. (The HTTP Route deliberately carries no QA data: it is what production
drivers see.)
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

DELIVERED = "delivered"


def load_expectations(scenario_path: Path, driver_id: str) -> Mapping[str, str]:
    """Stop id → expected outcome for `driver_id`'s route in the scenario."""
    # The QA runner reads the mock building's own scenario loader; the app itself never does.
    from mock_building.scenario import load_scenario

    scenario = load_scenario(scenario_path)
    expected: dict[str, str] = {}
    for route in scenario.routes:
        if route.driver != driver_id:
            continue
        for stop in route.stops:
            faults = [p.expect for p in stop.packages if p.expect not in (None, DELIVERED)]
            expected[stop.id] = faults[0] if faults else DELIVERED
    return expected


def expected_outcome(expectations: Mapping[str, str], stop_id: str) -> str:
    return expectations.get(stop_id, DELIVERED)
