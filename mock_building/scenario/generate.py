"""`mock-building scenario generate`: a whole city as a scenario, deterministic by seed.

Buildings stand on a 200 m grid (a driver at one hears the next one's doors faintly), each with
K doors; every driver gets a route of S stops through neighbouring buildings, one or two parcels
per stop, each barcode unique in the city. Most buildings accept every carrier; about one in ten
accepts only the first, so drivers of other carriers meet `carrier_not_accepted` there and the
packages say so in `expect`. Delivery windows are "always" or the whole day, so the expectations
hold whatever the hour of the run. The text is TOML that `load_scenario` reads back.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass

from mock_building.radio.geography import grid_layout

__all__ = ["CitySpec", "generate_scenario"]

CARRIER_NOT_ACCEPTED = "carrier_not_accepted"
DELIVERED = "delivered"
PASSWORD_COST = 2**10
"""scrypt N of a generated city's password hashes (the service default is 2**14)."""
PICKY_BUILDING_SHARE = 0.1
"""The share of buildings that accept only the first carrier (when there are several)."""


@dataclass(frozen=True)
class CitySpec:
    buildings: int
    doors_per_building: int
    drivers: int
    stops_per_route: int
    carriers: int = 1
    seed: str = "city"
    adv_interval_ms: int = 100

    def problems(self) -> list[str]:
        counts = {
            "buildings": self.buildings,
            "doors per building": self.doors_per_building,
            "drivers": self.drivers,
            "stops per route": self.stops_per_route,
            "carriers": self.carriers,
        }
        found = [f"{name} must be at least 1" for name, value in counts.items() if value < 1]
        if self.buildings * self.doors_per_building > 9_999_999:
            found.append("at most 9,999,999 doors (door ids are 8 characters)")
        if self.stops_per_route > self.buildings:
            found.append("a route visits each building at most once: stops per route <= buildings")
        return found


def _q(text: str) -> str:
    """A TOML basic string (JSON's escaping is valid TOML for these ASCII values)."""
    return json.dumps(text)


def generate_scenario(spec: CitySpec) -> str:
    """The scenario text; the same spec (seed included) always gives the same bytes."""
    rng = random.Random(f"lobbykey-city:{spec.seed}")  # noqa: S311 - seeded on purpose: same seed, same city
    carriers = [f"carrier{c}" for c in range(1, spec.carriers + 1)]
    buildings = [f"b{b:04d}" for b in range(1, spec.buildings + 1)]
    picky = {b for b in buildings[1:] if spec.carriers > 1 and rng.random() < PICKY_BUILDING_SHARE}
    out = [
        f"# A generated city: {spec.buildings} buildings x {spec.doors_per_building} doors,"
        f" {spec.drivers} drivers x {spec.stops_per_route} stops, {spec.carriers} carrier(s),"
        f" seed {spec.seed!r}.",
        "# mock-building scenario generate; keys derive from the seed (mock only).",
        "version = 1",
        f"seed = {_q('city-' + spec.seed)}",
        'timezone = "UTC"',
        "",
        "[service]",
        f"admin_token = {_q('city-admin-' + spec.seed)}",
        f"password_cost = {PASSWORD_COST}  # the passwords are in this file: a cheap hash seeds a city fast",
    ]
    for carrier in carriers:
        out += [
            "",
            "[[carriers]]",
            f"id = {_q(carrier)}",
            f"name = {_q(carrier.title())}",
            f"kid = {_q(carrier + '-k1')}",
        ]
    for building, position in zip(buildings, grid_layout(spec.buildings), strict=True):
        accepted = carriers[:1] if building in picky else carriers
        out += [
            "",
            "[[buildings]]",
            f"id = {_q(building)}",
            f"name = {_q('Building ' + building[1:])}",
            f"address = {_q(f'{int(building[1:])} City Rd')}",
            f"accepted_carriers = [{', '.join(_q(c) for c in accepted)}]",
            f"position = [{position.x:g}, {position.y:g}]",
        ]
    door = 0
    for building in buildings:
        for _ in range(spec.doors_per_building):
            door += 1
            out += [
                "",
                "[[doors]]",
                f'id = "D{door:07d}"',
                f"building = {_q(building)}",
                f'name = "Door {door}"',
                f"adv_interval_ms = {spec.adv_interval_ms}",
            ]
    barcode = 0
    for index in range(spec.drivers):
        driver, carrier = f"driver{index + 1:04d}", carriers[index % len(carriers)]
        out += [
            "",
            "[[drivers]]",
            f"id = {_q(driver)}",
            f"name = {_q('Driver ' + str(index + 1))}",
            f"password = {_q(driver + '-password')}",
            f"carrier = {_q(carrier)}",
        ]
        first = rng.randrange(spec.buildings)
        out += ["", "[[routes]]", f"driver = {_q(driver)}", 'date = "today"']
        for number in range(spec.stops_per_route):
            building = buildings[(first + number) % spec.buildings]
            expect = CARRIER_NOT_ACCEPTED if building in picky and carrier != carriers[0] else DELIVERED
            window = '"always"' if rng.random() < 0.7 else '{ start = "00:00", end = "23:59" }'
            packages = []
            for parcel in range(rng.choice((1, 1, 2))):
                barcode += 1
                package_id = f"P{index + 1:04d}-{number + 1:03d}-{parcel + 1}"
                packages.append(
                    f'{{ id = {_q(package_id)}, barcode = "LKC{barcode:012d}", expect = {_q(expect)} }}'
                )
            out += [
                "",
                "  [[routes.stops]]",
                f"  id = {_q(f'{driver}-{number + 1:03d}')}",
                f"  building = {_q(building)}",
                f"  window = {window}",
                f"  packages = [{', '.join(packages)}]",
            ]
    return "\n".join(out) + "\n"
