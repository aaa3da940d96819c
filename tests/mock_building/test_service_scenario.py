"""Scenario files: the bundled ones load; the loader is strict and names the bad key."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path

import pytest

from driver_app.core.errors import ClientReason
from mock_building.errors import ScenarioError
from mock_building.scenario.loader import DeliveryWindow, default_scenario_path, load_scenario, parse_scenario
from protocol.keys import public_key_bytes
from protocol.reasons import ReasonCode
from tests.service_support import SCENARIO_TOML

pytestmark = pytest.mark.usefixtures("service_backend")

SCENARIOS = Path(default_scenario_path()).parent


def test_demo_scenario_meets_the_brief():
    demo = load_scenario(default_scenario_path())
    assert len(demo.carriers) >= 2
    assert len({s.building for r in demo.routes for s in r.stops}) >= 3
    demo_route = next(r for r in demo.routes if r.driver == "demo")
    assert len(demo_route.stops) >= 8 and demo_route.day is None
    assert any(len(s.packages) >= 2 for s in demo_route.stops)
    assert any(len(demo.doors_of(b.id)) >= 2 for b in demo.buildings)
    assert all(d.adv_interval_ms == 30 for d in demo.doors)
    assert next(d for d in demo.drivers if d.id == "demo").password == "demo-password"


def test_faults_scenario_expectations_are_known_outcomes():
    qa = load_scenario(SCENARIOS / "faults.toml")
    expects = [p.expect for r in qa.routes for s in r.stops for p in s.packages if p.expect]
    assert "delivered" in expects and len(set(expects)) >= 4
    for expect in expects:
        assert expect == "delivered" or expect in set(ClientReason) or ReasonCode.from_slug(expect)


def test_keys_are_deterministic_and_distinct():
    one, two = parse_scenario(SCENARIO_TOML), parse_scenario(SCENARIO_TOML)
    raw = lambda key: public_key_bytes(key)  # noqa: E731
    assert raw(one.carrier("parcelco").private_key) == raw(two.carrier("parcelco").private_key)
    assert raw(one.carrier("parcelco").private_key) != raw(one.carrier("swiftship").private_key)
    assert raw(one.door("A-N").private_key) != raw(one.door("A-S").private_key)
    other_seed = parse_scenario(SCENARIO_TOML.replace('seed = "service-tests"', 'seed = "other"'))
    assert raw(other_seed.door("A-N").private_key) != raw(one.door("A-N").private_key)
    assert [k.issuer for k in one.trusted_issuer_keys("C-1")] == ["swiftship"]


def test_key_file_and_window(tmp_path):
    (tmp_path / "carrier.key").write_bytes(bytes(range(32)))
    text = SCENARIO_TOML.replace(
        'id = "parcelco"\nname = "ParcelCo"', 'id = "parcelco"\nname = "ParcelCo"\nkey_file = "carrier.key"'
    )
    (tmp_path / "s.toml").write_text(text)
    loaded = load_scenario(tmp_path / "s.toml")
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    assert public_key_bytes(loaded.carrier("parcelco").private_key) == public_key_bytes(
        Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    )
    stop = loaded.routes[0].stops[1]
    assert stop.window == DeliveryWindow(start=time(8), end=time(10))
    assert loaded.routes[0].date_for(date(2026, 1, 2)) == date(2026, 1, 2)


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (('name = "Lobby"\n[[doors]]', 'name = "Lobby"\ncolour = "red"\n[[doors]]'), "doors[2].colour"),
        (('id = "A-N"', 'id = "NORTH-ENTRANCE"'), "doors[0].id"),
        (('building = "B"\nname = "Lobby"', 'building = "Q"\nname = "Lobby"'), "doors[2].building"),
        (('carrier = "parcelco"\n[[drivers]]', 'carrier = "ups"\n[[drivers]]'), "drivers[0].carrier"),
        (('start = "08:00"', 'start = "8am"'), "routes[0].stops[1].window.start"),
        (
            ('start = "08:00", end = "10:00"', 'start = "10:00", end = "08:00"'),
            "routes[0].stops[1].window.end",
        ),
        (('barcode = "BC-2"', 'barcode = "BC-1"'), "routes[0].stops[0].packages[1].barcode"),
        (('id = "P2"', 'id = "P1"'), "routes[0].stops[0].packages[1].id"),
        (
            ('accepted_carriers = ["parcelco"]', 'accepted_carriers = ["nobody"]'),
            "buildings[1].accepted_carriers[0]",
        ),
        (('[[drivers]]\nid = "alice"', "[[drivers]]\nid = 7"), "drivers[0].id"),
        (('seed = "service-tests"', 'seed = "s"\ntimezone = "Mars/Olympus"'), "timezone"),
        (
            ('[[routes]]\ndriver = "alice"', '[[routes]]\ndriver = "alice"\ndate = "tomorrow"'),
            "routes[0].date",
        ),
        (
            ('name = "Lobby"\n[[doors]]', 'name = "Lobby"\nfaults = { slow_ms = true }\n[[doors]]'),
            "doors[2].faults.slow_ms",
        ),
        (
            ('name = "Lobby"\n[[doors]]', 'name = "Lobby"\nfaults = { jamed = true }\n[[doors]]'),
            "doors[2].faults.jamed",
        ),
        (
            ('name = "Lobby"\n[[doors]]', 'name = "Lobby"\nfaults = { rssi_dbm = 99 }\n[[doors]]'),
            "doors[2].faults.rssi_dbm",
        ),
        (("[service]", "[service]\nfaults = { error_rate = 2 }"), "service.faults.error_rate"),
        (
            (
                'packages = [{ id = "Q1", barcode = "BC-T1" }]',
                'packages = [{ id = "Q1", barcode = "BC-T1", expect = "Door Jammed" }]',
            ),
            "routes[1].stops[0].packages[0].expect",
        ),
    ],
)
def test_strict_loader_names_the_bad_key(change, key):
    old, new = change
    assert old in SCENARIO_TOML
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(SCENARIO_TOML.replace(old, new, 1))
    assert caught.value.key == key
    assert caught.value.reason == "invalid_scenario"


def test_errors_name_the_file_and_the_unknown_key(tmp_path):
    path = tmp_path / "typo.toml"
    path.write_text(SCENARIO_TOML.replace("[[carriers]]", '[[carriers]]\nkid_seed = "x"', 1))
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert caught.value.key == "carriers[0].kid_seed" and caught.value.source == str(path)
    line = caught.value.line
    assert line is not None
    assert path.read_text().splitlines()[line - 1] == 'kid_seed = "x"'
    assert str(caught.value) == f"{path}:{line}: carriers[0].kid_seed: unknown key (did you mean 'key_seed'?)"


def test_unreadable_and_invalid_files(tmp_path):
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(tmp_path / "missing.toml")
    with pytest.raises(ScenarioError, match="not valid TOML"):
        parse_scenario("seed = ")
    with pytest.raises(ScenarioError) as caught:
        parse_scenario("")
    assert caught.value.key == "seed"
