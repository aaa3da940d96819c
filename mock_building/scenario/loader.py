"""A mock building day, described in TOML: carriers, buildings, doors, drivers, routes, faults.

This module reads scenarios; the types they are made of live in `mock_building.scenario.model` and
are re-exported here.

The service, the emulated doors, the label printer and the QA runner all read the same scenario, so
keys are derived from its `seed` (see `mock_building.scenario.keys`; mock only). `load_scenario` is strict:
unknown keys, wrong types and dangling references fail with a `ScenarioError` naming the key.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import fields
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mock_building.scenario._toml_table import Table
from mock_building.door.config import ADVERTISING_INTERVAL_RANGE_MS
from mock_building.door.faults import DoorFaultSettings, fault_value_problem
from mock_building.errors import ScenarioError
from mock_building.scenario.keys import derive_ed25519_key, derive_secret
from mock_building.scenario.model import (
    Building, Carrier, DeliveryWindow, Door, Driver, Package, Route, Scenario, ServiceFaultSettings, Stop,
)
from protocol.ids import is_door_id

__all__ = [
    "Building", "Carrier", "DeliveryWindow", "Door", "DoorFaultSettings", "Driver", "Package", "Route",
    "Scenario", "ServiceFaultSettings", "Stop", "default_scenario_path", "load_scenario", "parse_scenario",
]

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
# Grant claim limits (protocol/grant.py): carrier <= 16 bytes, driver (subject) and stop <= 32, package <= 40.
_CARRIER_ID_MAX, _DRIVER_ID_MAX, _STOP_ID_MAX, _PACKAGE_ID_MAX, _OTHER_ID_MAX = 16, 32, 32, 40, 64
_BLE_ADDRESS = re.compile(r"^[0-9A-F]{2}(:[0-9A-F]{2}){5}$")
_HHMM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
_EXPECT = re.compile(r"^[a-z][a-z0-9_]*$")


def default_scenario_path() -> Path:
    """The bundled demo scenario."""
    return Path(__file__).parents[1] / "scenarios" / "demo.toml"


def load_scenario(path: str | Path) -> Scenario:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ScenarioError("", f"cannot read scenario {path}: {err.strerror}") from err
    try:
        return parse_scenario(text, base_dir=path.parent)
    except ScenarioError as err:
        raise ScenarioError("", f"{path}{_line_of(err, text)}: {err.message}") from err


def _line_of(err: ScenarioError, text: str) -> str:
    """`:N` when the error's line is known: TOML syntax errors say it, a leaf key found once is certain."""
    if err.__cause__ is not None and (found := re.search(r"at line (\d+)", str(err.__cause__))):
        return f":{found.group(1)}"
    leaf = re.sub(r"\[\d+\]$", "", err.key.rsplit(".", 1)[-1])
    if not leaf:
        return ""
    pattern = re.compile(rf"^\s*[\"']?{re.escape(leaf)}[\"']?\s*=")
    lines = [n for n, line in enumerate(text.splitlines(), start=1) if pattern.match(line)]
    return f":{lines[0]}" if len(lines) == 1 else ""


def parse_scenario(text: str, *, base_dir: Path = Path(".")) -> Scenario:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError("", f"not valid TOML: {err}") from err
    root = Table(data, "")
    version = root.int("version", 1)
    if version != 1:
        raise root.fail("version", f"unsupported scenario version {version} (this code reads 1)")
    seed = root.str("seed")
    zone = root.str("timezone", "UTC")
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise root.fail("timezone", f"unknown time zone {zone!r}") from err
    service = root.table("service")
    admin_token = service.str("admin_token", "admin-" + derive_secret(seed, "service:admin", 12).hex())
    faults = _service_faults(service.table("faults"))
    service.finish()

    carriers = tuple(_carrier(t, seed, base_dir) for t in root.tables("carriers"))
    _unique(carriers, "carriers")
    carrier_ids = {c.id for c in carriers}
    buildings = tuple(_building(t, carrier_ids) for t in root.tables("buildings"))
    _unique(buildings, "buildings")
    building_ids = {b.id for b in buildings}
    doors = tuple(_door(t, seed, building_ids) for t in root.tables("doors"))
    _unique(doors, "doors")
    drivers = tuple(_driver(t, carrier_ids) for t in root.tables("drivers"))
    _unique(drivers, "drivers")
    addresses = {b.id: b.address for b in buildings}
    routes = tuple(_route(t, {d.id for d in drivers}, addresses) for t in root.tables("routes"))
    root.finish()
    return Scenario(seed, zone, admin_token, carriers, buildings, doors, drivers, routes, faults)


def _unique(items: tuple, key: str) -> None:
    seen: set[str] = set()
    for index, item in enumerate(items):
        if item.id in seen:
            raise ScenarioError(f"{key}[{index}].id", f"duplicate id {item.id!r}")
        seen.add(item.id)


def _id(table: Table, max_len: int = _OTHER_ID_MAX) -> str:
    value = table.str("id")
    if not _ID.match(value) or len(value) > max_len:
        raise table.fail("id", f"{value!r} is not a valid id (1..{max_len} of A-Z a-z 0-9 _ . -)")
    return value


def _ref(table: Table, key: str, known: set[str] | dict[str, str], what: str) -> str:
    value = table.str(key)
    if value not in known:
        raise table.fail(key, f"unknown {what} {value!r}")
    return value


def _carrier(table: Table, seed: str, base_dir: Path) -> Carrier:
    carrier_id = _id(table, _CARRIER_ID_MAX)
    name = table.str("name")
    kid = table.str("kid", carrier_id)
    if not kid.isascii() or not 1 <= len(kid) <= 16:
        raise table.fail("kid", "a key id is 1..16 ASCII characters (protocol KEY_ID_MAX)")
    key_seed = table.str("key_seed", None)
    key_file = table.str("key_file", None)
    if key_seed is not None and key_file is not None:
        raise table.fail("key_file", "give key_seed or key_file, not both")
    if key_file is not None:
        key = _read_key_file(table, base_dir / key_file)
    else:
        key = derive_ed25519_key(key_seed or seed, f"carrier:{carrier_id}")
    table.finish()
    return Carrier(carrier_id, name, kid, key)


def _read_key_file(table: Table, path: Path) -> Ed25519PrivateKey:
    """A PEM/PKCS#8 Ed25519 private key, or the raw 32 private bytes."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise table.fail("key_file", f"cannot read {path}: {err.strerror}") from err
    if len(data) == 32:
        return Ed25519PrivateKey.from_private_bytes(data)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as err:
        raise table.fail("key_file", f"{path} is neither PEM nor 32 raw bytes") from err
    if not isinstance(key, Ed25519PrivateKey):
        raise table.fail("key_file", f"{path} is not an Ed25519 private key")
    return key


def _building(table: Table, carrier_ids: set[str]) -> Building:
    building_id = _id(table)
    name = table.str("name")
    address = table.str("address")
    accepted = table.str_list("accepted_carriers")
    for index, carrier_id in enumerate(accepted):
        if carrier_id not in carrier_ids:
            raise ScenarioError(f"{table.key_path('accepted_carriers')}[{index}]", f"unknown carrier {carrier_id!r}")
    token = table.str("manager_token", None)
    table.finish()
    return Building(building_id, name, address, accepted, token)


def _door(table: Table, seed: str, building_ids: set[str]) -> Door:
    door_id = table.str("id")
    if not is_door_id(door_id):
        raise table.fail("id", f"{door_id!r} is not a door id (1..8 of A-Z a-z 0-9 _ . -, see protocol/SPEC.md)")
    building = _ref(table, "building", building_ids, "building")
    name = table.str("name")
    address = table.str("ble_address", _derived_ble_address(seed, door_id)).upper()
    if not _BLE_ADDRESS.match(address):
        raise table.fail("ble_address", f"{address!r} is not a BLE address like C0:11:22:33:44:55")
    interval = table.int("adv_interval_ms", 100)
    low, high = ADVERTISING_INTERVAL_RANGE_MS
    if not low <= interval <= high:
        raise table.fail("adv_interval_ms", f"must be within {low:g}..{high:g} ms (BLE advertising limits)")
    hold_open = table.number("hold_open_s", 5.0)
    if not 0 < hold_open <= 60:
        raise table.fail("hold_open_s", "must be within (0, 60] seconds")
    faults = _door_faults(table.table("faults"))
    table.finish()
    return Door(door_id, building, name, address, interval, hold_open, faults, derive_ed25519_key(seed, f"door:{door_id}"))


def _derived_ble_address(seed: str, door_id: str) -> str:
    raw = bytearray(derive_secret(seed, f"ble:{door_id}", 6))
    raw[0] |= 0xC0  # a random static address has its two top bits set
    return ":".join(f"{b:02X}" for b in raw)


def _door_faults(table: Table) -> DoorFaultSettings:
    values: dict[str, bool | int] = {}
    for spec in fields(DoorFaultSettings):
        read = table.bool if spec.type == "bool" else table.int
        values[spec.name] = read(spec.name, spec.default)
        problem = fault_value_problem(spec.name, values[spec.name])
        if problem is not None:
            raise table.fail(spec.name, problem)
    table.finish()
    return DoorFaultSettings(**values)


def _service_faults(table: Table) -> ServiceFaultSettings:
    faults = ServiceFaultSettings(
        latency_ms=table.int("latency_ms", 0),
        error_rate=table.number("error_rate", 0.0),
        down=table.bool("down", False),
    )
    if faults.latency_ms < 0:
        raise table.fail("latency_ms", "must not be negative")
    if not 0.0 <= faults.error_rate <= 1.0:
        raise table.fail("error_rate", "must be within 0..1")
    table.finish()
    return faults


def _driver(table: Table, carrier_ids: set[str]) -> Driver:
    driver = Driver(_id(table, _DRIVER_ID_MAX), table.str("name"), table.str("password"), _ref(table, "carrier", carrier_ids, "carrier"))
    table.finish()
    return driver


def _route(table: Table, driver_ids: set[str], addresses: dict[str, str]) -> Route:
    driver = _ref(table, "driver", driver_ids, "driver")
    raw_day = table.raw("date", "today")
    if raw_day == "today":
        day = None
    elif isinstance(raw_day, date) and not isinstance(raw_day, datetime):
        day = raw_day
    else:
        raise table.fail("date", 'expected "today" or a date like 2026-11-23')
    stops = tuple(_stop(t, addresses) for t in table.tables("stops"))
    if not stops:
        raise table.fail("stops", "a route needs at least one stop")
    _unique(stops, table.key_path("stops"))
    _unique(tuple(p for s in stops for p in s.packages), table.key_path("stops[*].packages"))
    barcodes = [p.barcode for s in stops for p in s.packages]
    if len(set(barcodes)) != len(barcodes):
        raise table.fail("stops", "two packages on this route share a barcode")
    table.finish()
    return Route(driver, day, stops)


def _stop(table: Table, addresses: dict[str, str]) -> Stop:
    stop_id = _id(table, _STOP_ID_MAX)
    building = _ref(table, "building", addresses, "building")
    address = table.str("address", addresses[building])
    window = _window(table)
    packages = tuple(_package(t) for t in table.tables("packages"))
    if not packages:
        raise table.fail("packages", "a stop needs at least one package")
    table.finish()
    return Stop(stop_id, building, address, window, packages)


def _window(table: Table) -> DeliveryWindow:
    raw = table.raw("window", "always")
    if raw == "always":
        return DeliveryWindow()
    if not isinstance(raw, dict):
        raise table.fail("window", 'expected "always" or { start = "HH:MM", end = "HH:MM" }')
    sub = Table(raw, table.key_path("window"))
    start, end = _hhmm(sub, "start"), _hhmm(sub, "end")
    sub.finish()
    if start >= end:
        raise sub.fail("end", "must be later than start (windows do not cross midnight)")
    return DeliveryWindow(start, end)


def _hhmm(table: Table, key: str) -> time:
    value = table.str(key)
    if not _HHMM.match(value):
        raise table.fail(key, f"{value!r} is not a time like 08:30")
    return time.fromisoformat(value)


def _package(table: Table) -> Package:
    package_id = _id(table, _PACKAGE_ID_MAX)
    barcode = table.str("barcode")
    if not barcode or not barcode.isprintable() or len(barcode) > 128:
        raise table.fail("barcode", "must be 1..128 printable characters")
    unit = table.str("unit", None)
    expect = table.str("expect", None)
    if expect is not None and not _EXPECT.match(expect):
        raise table.fail("expect", 'expected "delivered" or a reason code such as door_jammed')
    table.finish()
    return Package(package_id, barcode, unit, expect)
