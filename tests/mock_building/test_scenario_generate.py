"""`mock-building scenario generate` writes a valid city, the same one for the same seed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from mock_building.building.doors import building_positions
from mock_building.scenario.generate import CitySpec, generate_scenario
from mock_building.scenario.loader import load_scenario, parse_scenario

SMALL_CITY = CitySpec(buildings=20, doors_per_building=5, drivers=20, stops_per_route=3, carriers=3, seed="t")


def test_a_generated_city_is_valid_complete_and_deterministic() -> None:
    text = generate_scenario(SMALL_CITY)
    assert generate_scenario(SMALL_CITY) == text
    assert generate_scenario(CitySpec(**{**SMALL_CITY.__dict__, "seed": "other"})) != text
    scenario = parse_scenario(text)
    assert (len(scenario.buildings), len(scenario.doors), len(scenario.drivers)) == (20, 100, 20)
    assert all(len(route.stops) == 3 for route in scenario.routes)
    assert {route.driver for route in scenario.routes} == {driver.id for driver in scenario.drivers}
    packages = [p for route in scenario.routes for stop in route.stops for p in stop.packages]
    assert len({p.barcode for p in packages}) == len(packages)
    assert all(p.expect in {"delivered", "carrier_not_accepted"} for p in packages)
    # A package expects a refusal exactly where its driver's carrier is not accepted.
    carrier_of = {d.id: d.carrier for d in scenario.drivers}
    for route in scenario.routes:
        for stop in route.stops:
            accepted = carrier_of[route.driver] in scenario.building(stop.building).accepted_carriers
            assert {p.expect for p in stop.packages} == {"delivered" if accepted else "carrier_not_accepted"}
    assert scenario.service.password_cost == 2**10  # its passwords are in the file: hash them cheaply
    positions = building_positions(scenario)
    assert len(set(positions.values())) == 20  # every building has its own spot on the map


def test_the_command_writes_a_scenario_that_loads_and_refuses_nonsense(tmp_path: Path) -> None:
    out = tmp_path / "city.toml"
    command = [
        sys.executable,
        "-m",
        "mock_building.cli",
        "scenario",
        "generate",
        "--buildings",
        "4",
        "--doors-per-building",
        "2",
        "--drivers",
        "3",
        "--stops-per-route",
        "2",
        "--seed",
        "x",
        "--out",
        str(out),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "8 doors" in done.stdout
    assert load_scenario(out).buildings[3].position == (200.0, 200.0)
    command[command.index("--stops-per-route") + 1] = "9"
    refused = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "stops per route <= buildings" in refused.stderr
