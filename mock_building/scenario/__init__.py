"""Scenarios: the pydantic models of a building's day, their TOML loader, seeded keys and rendered labels."""

from mock_building.scenario.loader import (
    Building,
    Carrier,
    DeliveryWindow,
    Door,
    DoorFaultSettings,
    Driver,
    Package,
    Route,
    Scenario,
    ScenarioError,
    ServiceFaultSettings,
    ServiceSettings,
    Stop,
    default_scenario_path,
    load_scenario,
    parse_scenario,
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
