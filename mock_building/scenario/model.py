"""What a scenario says: frozen pydantic models that a scenario TOML file validates into directly.

Every table forbids unknown keys and every scalar is strictly typed (`true` is not a number), so a
typo in a hand-edited file fails with the key path instead of being ignored. Checks that span
tables (references, duplicates) and the seed-derived values (keys, BLE addresses, admin token) are
done once the whole file has validated, in `Scenario`. `mock_building.scenario.loader` reads files.
"""

from __future__ import annotations

import re
from dataclasses import fields
from datetime import date, datetime, time
from pathlib import Path
from typing import Annotated, Any, Literal, get_type_hints
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)

from mock_building.door.config import ADVERTISING_INTERVAL_RANGE_MS
from mock_building.door.faults import DoorFaultSettings, fault_value_problem
from mock_building.errors import ScenarioError
from mock_building.scenario.keys import derive_ed25519_key, derive_secret
from protocol.ids import is_door_id
from protocol.keys import TrustedIssuerKey, derive_key_id, public_key_bytes
from protocol.maintenance import Authority, Role

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
    "ServiceFaultSettings",
    "ServiceSettings",
    "Stop",
]

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_BLE_ADDRESS = re.compile(r"^[0-9A-F]{2}(:[0-9A-F]{2}){5}$")
_HHMM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
_EXPECT = re.compile(r"^[a-z][a-z0-9_]*$")
_TABLE = ConfigDict(extra="forbid", frozen=True, strict=True)


def _id_of_at_most(max_len: int) -> AfterValidator:
    def check(value: str) -> str:
        if not _ID.match(value) or len(value) > max_len:
            raise ValueError(f"{value!r} is not a valid id (1..{max_len} of A-Z a-z 0-9 _ . -)")
        return value

    return AfterValidator(check)


# Grant claim limits (protocol/grant.py): carrier <= 16 bytes, driver (subject) and stop <= 32, package <= 40.
CarrierId = Annotated[StrictStr, _id_of_at_most(16)]
DriverId = Annotated[StrictStr, _id_of_at_most(32)]
StopId = Annotated[StrictStr, _id_of_at_most(32)]
PackageId = Annotated[StrictStr, _id_of_at_most(40)]
OtherId = Annotated[StrictStr, _id_of_at_most(64)]
Number = Annotated[float, Field(strict=True)]  # strict float still takes a TOML integer such as `5`


class Carrier(BaseModel):
    """A parcel carrier; its signing key comes from `key_file`, `key_seed` or the scenario seed."""

    model_config = _TABLE
    id: CarrierId
    name: StrictStr
    kid: StrictStr
    """The COSE key id of its grants; defaults to `id`."""
    key_seed: StrictStr | None = None
    key_file: StrictStr | None = None
    _private_key: Ed25519PrivateKey | None = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _kid_defaults_to_id(cls, data: Any) -> Any:
        if isinstance(data, dict) and "kid" not in data and "id" in data:
            return {**data, "kid": data["id"]}
        return data

    @field_validator("kid")
    @classmethod
    def _kid_fits(cls, kid: str) -> str:
        if not kid.isascii() or not 1 <= len(kid) <= 16:
            raise ValueError("a key id is 1..16 ASCII characters (protocol KEY_ID_MAX)")
        return kid

    @property
    def private_key(self) -> Ed25519PrivateKey:
        assert self._private_key is not None, "set when the scenario validated"
        return self._private_key

    @property
    def key_id(self) -> bytes:
        """The COSE `kid` of the carrier's grants: the ASCII bytes of `kid`."""
        return self.kid.encode("ascii")


class Building(BaseModel):
    model_config = _TABLE
    id: OtherId
    name: StrictStr
    address: StrictStr
    accepted_carriers: tuple[StrictStr, ...] = Field(strict=False)  # a TOML array is a list
    manager_token: StrictStr | None = Field(default=None, repr=False)
    position: tuple[Number, Number] | None = Field(default=None, strict=False)
    """Metres east and north on the city map the virtual radio uses; None: a grid slot by order."""


def _fault_bounds(value: object, info: ValidationInfo) -> object:
    problem = fault_value_problem(info.field_name or "", value)
    if problem is not None:
        raise ValueError(problem)
    return value


# The `[doors.faults]` table, generated from `DoorFaultSettings` so the fields have one definition.
_FAULT_FIELDS: dict[str, Any] = {
    spec.name: (get_type_hints(DoorFaultSettings)[spec.name], spec.default)
    for spec in fields(DoorFaultSettings)
}
_DoorFaultsTable = create_model(
    "_DoorFaultsTable",
    __config__=_TABLE,
    __validators__={"bounds": field_validator("*")(_fault_bounds)},
    **_FAULT_FIELDS,
)


def _door_faults(value: object) -> object:
    if isinstance(value, DoorFaultSettings):
        return value
    return DoorFaultSettings(**_DoorFaultsTable.model_validate(value).model_dump())


class Door(BaseModel):
    model_config = _TABLE
    id: StrictStr
    building: StrictStr
    name: StrictStr
    ble_address: StrictStr
    """Defaults to a random static address derived from the seed."""
    adv_interval_ms: StrictInt = 100
    hold_open_s: Number = 5.0
    faults: Annotated[DoorFaultSettings, BeforeValidator(_door_faults)] = DoorFaultSettings()
    _private_key: Ed25519PrivateKey | None = PrivateAttr(default=None)

    @field_validator("id")
    @classmethod
    def _door_id(cls, value: str) -> str:
        if not is_door_id(value):
            raise ValueError(f"{value!r} is not a door id (1..8 of A-Z a-z 0-9 _ . -, see protocol/SPEC.md)")
        return value

    @field_validator("ble_address")
    @classmethod
    def _ble_address(cls, value: str) -> str:
        if not _BLE_ADDRESS.match(value.upper()):
            raise ValueError(f"{value!r} is not a BLE address like C0:11:22:33:44:55")
        return value.upper()

    @field_validator("adv_interval_ms")
    @classmethod
    def _interval(cls, value: int) -> int:
        low, high = ADVERTISING_INTERVAL_RANGE_MS
        if not low <= value <= high:
            raise ValueError(f"must be within {low:g}..{high:g} ms (BLE advertising limits)")
        return value

    @field_validator("hold_open_s")
    @classmethod
    def _hold_open(cls, value: float) -> float:
        if not 0 < value <= 60:
            raise ValueError("must be within (0, 60] seconds")
        return value

    @property
    def private_key(self) -> Ed25519PrivateKey:
        assert self._private_key is not None, "set when the scenario validated"
        return self._private_key


class Driver(BaseModel):
    model_config = _TABLE
    id: DriverId
    name: StrictStr
    password: StrictStr = Field(repr=False)
    carrier: StrictStr


def _hhmm(value: object) -> object:
    if isinstance(value, str):
        if not _HHMM.match(value):
            raise ValueError(f"{value!r} is not a time like 08:30")
        return time.fromisoformat(value)
    return value


class DeliveryWindow(BaseModel):
    """Local wall-clock window; both ends None means "always" (written `window = "always"`)."""

    model_config = _TABLE
    start: Annotated[time, BeforeValidator(_hhmm)] | None = None
    end: Annotated[time, BeforeValidator(_hhmm)] | None = None

    @field_validator("end")
    @classmethod
    def _after_start(cls, end: time | None, info: ValidationInfo) -> time | None:
        start = info.data.get("start")
        if (start is None) != (end is None):
            raise ValueError("give both start and end, or neither")
        if start is not None and end is not None and start >= end:
            raise ValueError("must be later than start (windows do not cross midnight)")
        return end

    @property
    def always(self) -> bool:
        return self.start is None

    def is_open(self, local: datetime) -> bool:
        if self.start is None or self.end is None:
            return True
        return self.start <= local.time().replace(tzinfo=None) < self.end


def _window(value: object) -> object:
    if value == "always":
        return DeliveryWindow()
    if isinstance(value, dict) and ("start" not in value or "end" not in value):
        raise ValueError('expected "always" or { start = "HH:MM", end = "HH:MM" }')
    return value


class Package(BaseModel):
    model_config = _TABLE
    id: PackageId
    barcode: StrictStr
    unit: StrictStr | None = None
    expect: StrictStr | None = None
    """The outcome the QA runner expects: "delivered" or a reason code such as door_jammed."""

    @field_validator("barcode")
    @classmethod
    def _printable(cls, value: str) -> str:
        if not value or not value.isprintable() or len(value) > 128:
            raise ValueError("must be 1..128 printable characters")
        return value

    @field_validator("expect")
    @classmethod
    def _slug(cls, value: str | None) -> str | None:
        if value is not None and not _EXPECT.match(value):
            raise ValueError('expected "delivered" or a reason code such as door_jammed')
        return value


class Stop(BaseModel):
    model_config = _TABLE
    id: StopId
    building: StrictStr
    address: StrictStr
    """Defaults to the building's address."""
    window: Annotated[DeliveryWindow, BeforeValidator(_window)] = DeliveryWindow()
    packages: tuple[Package, ...] = Field(strict=False, min_length=1)


def _today_or_date(value: object) -> object:
    if value == "today":
        return None
    if not isinstance(value, date) or isinstance(value, datetime):
        raise ValueError('expected "today" or a date like 2026-11-23')
    return value


class Route(BaseModel):
    model_config = _TABLE
    driver: StrictStr
    day: Annotated[date | None, BeforeValidator(_today_or_date)] = Field(default=None, alias="date")
    """None: "today", resolved when seeding."""
    stops: tuple[Stop, ...] = Field(strict=False, min_length=1)

    def date_for(self, today: date) -> date:
        return self.day or today


class ServiceFaultSettings(BaseModel):
    model_config = _TABLE
    latency_ms: Annotated[StrictInt, Field(ge=0)] = 0
    error_rate: Annotated[float, Field(strict=True, ge=0.0, le=1.0)] = 0.0
    down: StrictBool = False


class ServiceSettings(BaseModel):
    """The `[service]` table."""

    model_config = _TABLE
    admin_token: StrictStr = Field(repr=False)
    """Defaults to a token derived from the seed."""
    faults: ServiceFaultSettings = ServiceFaultSettings()
    password_cost: StrictInt | None = None
    """scrypt N for the drivers' password hashes; None: the service's default. A generated city
    lowers it: its passwords are in the file anyway, and `up` seeds hundreds of drivers."""

    @field_validator("password_cost")
    @classmethod
    def _power_of_two(cls, value: int | None) -> int | None:
        if value is not None and (value < 2 or value & (value - 1)):
            raise ValueError("scrypt's cost is a power of two, at least 2")
        return value


class Scenario(BaseModel):
    """A whole scenario file. Validate with context `{"base_dir": Path}` so `key_file`s resolve."""

    model_config = _TABLE
    version: Literal[1] = 1
    seed: StrictStr = Field(repr=False)
    timezone: StrictStr = "UTC"
    service: ServiceSettings
    carriers: tuple[Carrier, ...] = Field(default=(), strict=False)
    buildings: tuple[Building, ...] = Field(default=(), strict=False)
    doors: tuple[Door, ...] = Field(default=(), strict=False)
    drivers: tuple[Driver, ...] = Field(default=(), strict=False)
    routes: tuple[Route, ...] = Field(default=(), strict=False)

    @model_validator(mode="before")
    @classmethod
    def _derived_defaults(cls, data: Any) -> Any:
        """Fill in the defaults that depend on other keys (seed, building addresses)."""
        if not isinstance(data, dict) or not isinstance(data.get("seed"), str):
            return data  # field validation reports what is wrong
        seed = data["seed"]
        data = dict(data)
        service = data.get("service", {})
        if isinstance(service, dict) and "admin_token" not in service:
            data["service"] = {
                **service,
                "admin_token": "admin-" + derive_secret(seed, "service:admin", 12).hex(),
            }
        data["doors"] = [
            {**door, "ble_address": _derived_ble_address(seed, door["id"])}
            if isinstance(door, dict) and "ble_address" not in door and isinstance(door.get("id"), str)
            else door
            for door in _list(data.get("doors"))
        ]
        addresses = {
            b.get("id"): b.get("address") for b in _list(data.get("buildings")) if isinstance(b, dict)
        }
        data["routes"] = [_stop_addresses(route, addresses) for route in _list(data.get("routes"))]
        return data

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ValueError(f"unknown time zone {value!r}") from err
        return value

    @model_validator(mode="after")
    def _resolve(self, info: ValidationInfo) -> Scenario:
        """Cross-table checks, then the keys (which may read files next to the scenario)."""
        _check_references(self)
        base_dir = Path((info.context or {}).get("base_dir", "."))
        for index, carrier in enumerate(self.carriers):
            if carrier.key_seed is not None and carrier.key_file is not None:
                raise ScenarioError(f"carriers[{index}].key_file", "give key_seed or key_file, not both")
            if carrier.key_file is not None:
                carrier._private_key = _read_key_file(
                    f"carriers[{index}].key_file", base_dir / carrier.key_file
                )
            else:
                carrier._private_key = derive_ed25519_key(
                    carrier.key_seed or self.seed, f"carrier:{carrier.id}"
                )
        for door in self.doors:
            door._private_key = derive_ed25519_key(self.seed, f"door:{door.id}")
        return self

    @property
    def admin_token(self) -> str:
        return self.service.admin_token

    @property
    def service_faults(self) -> ServiceFaultSettings:
        return self.service.faults

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def service_secret(self) -> bytes:
        """Key for pseudonymous driver references in the audit feed (mock only, seed-derived)."""
        return derive_secret(self.seed, "service:audit")

    def owner_key(self, building_id: str) -> Ed25519PrivateKey:
        """The building owner's maintenance key: the only one that may change a door's trust store."""
        return derive_ed25519_key(self.seed, f"owner:{building_id}")

    @property
    def upkeep_key(self) -> Ed25519PrivateKey:
        """The access service's maintenance key: time, revocations and receipt acks (SPEC section 14)."""
        return derive_ed25519_key(self.seed, "service:upkeep")

    def door_seal_key(self, door_id: str) -> bytes:
        """The secret the service seals grants and statements with for this door (SPEC section 15)."""
        return derive_secret(self.seed, f"door-seal:{door_id}")

    def door_authorities(self, door_id: str) -> tuple[Authority, ...]:
        """The maintenance keys a door is provisioned with: its building's owner and the service."""
        keys = ((self.owner_key(self.door(door_id).building), Role.OWNER), (self.upkeep_key, Role.SERVICE))
        return tuple(
            Authority(derive_key_id(public_key_bytes(key)), role, public_key_bytes(key)) for key, role in keys
        )

    def carrier(self, carrier_id: str) -> Carrier:
        return next(c for c in self.carriers if c.id == carrier_id)

    def building(self, building_id: str) -> Building:
        return next(b for b in self.buildings if b.id == building_id)

    def door(self, door_id: str) -> Door:
        return next(d for d in self.doors if d.id == door_id)

    def doors_of(self, building_id: str) -> tuple[Door, ...]:
        return tuple(d for d in self.doors if d.building == building_id)

    def trusted_carriers(self, door_id: str) -> tuple[Carrier, ...]:
        """The carriers whose grants this door accepts: those its building has accepted."""
        accepted = self.building(self.door(door_id).building).accepted_carriers
        return tuple(c for c in self.carriers if c.id in accepted)

    def trusted_issuer_keys(self, door_id: str) -> tuple[TrustedIssuerKey, ...]:
        """The door's trust store entries: issuer = carrier id, kid = the carrier's kid (ASCII)."""
        return tuple(
            TrustedIssuerKey(kid=c.key_id, issuer=c.id, public_key=public_key_bytes(c.private_key))
            for c in self.trusted_carriers(door_id)
        )


def _list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def _stop_addresses(route: object, addresses: dict[object, object]) -> object:
    if not isinstance(route, dict) or not isinstance(route.get("stops"), list):
        return route
    stops = [
        {**stop, "address": addresses[stop.get("building")]}
        if isinstance(stop, dict)
        and "address" not in stop
        and isinstance(addresses.get(stop.get("building")), str)
        else stop
        for stop in route["stops"]
    ]
    return {**route, "stops": stops}


def _derived_ble_address(seed: str, door_id: str) -> str:
    raw = bytearray(derive_secret(seed, f"ble:{door_id}", 6))
    raw[0] |= 0xC0  # a random static address has its two top bits set
    return ":".join(f"{b:02X}" for b in raw)


def _check_references(scenario: Scenario) -> None:
    """Ids are unique and every reference names something the scenario defines."""
    for key in ("carriers", "buildings", "doors", "drivers"):
        _unique([item.id for item in getattr(scenario, key)], key, "id")
    carriers = {c.id for c in scenario.carriers}
    buildings = {b.id for b in scenario.buildings}
    drivers = {d.id for d in scenario.drivers}
    for index, building in enumerate(scenario.buildings):
        for position, carrier_id in enumerate(building.accepted_carriers):
            _known(carrier_id, carriers, f"buildings[{index}].accepted_carriers[{position}]", "carrier")
    for index, door in enumerate(scenario.doors):
        _known(door.building, buildings, f"doors[{index}].building", "building")
    for index, driver in enumerate(scenario.drivers):
        _known(driver.carrier, carriers, f"drivers[{index}].carrier", "carrier")
    for index, route in enumerate(scenario.routes):
        path = f"routes[{index}]"
        _known(route.driver, drivers, f"{path}.driver", "driver")
        _unique([s.id for s in route.stops], f"{path}.stops", "id")
        for number, stop in enumerate(route.stops):
            _known(stop.building, buildings, f"{path}.stops[{number}].building", "building")
        packages = [
            (f"{path}.stops[{n}].packages[{p}]", pkg)
            for n, s in enumerate(route.stops)
            for p, pkg in enumerate(s.packages)
        ]
        seen_ids: set[str] = set()
        seen_barcodes: set[str] = set()
        for package_path, package in packages:
            if package.id in seen_ids:
                raise ScenarioError(
                    f"{package_path}.id", f"duplicate package id {package.id!r} on this route"
                )
            if package.barcode in seen_barcodes:
                raise ScenarioError(f"{package_path}.barcode", "two packages on this route share a barcode")
            seen_ids.add(package.id)
            seen_barcodes.add(package.barcode)


def _unique(ids: list[str], path: str, key: str) -> None:
    seen: set[str] = set()
    for index, item_id in enumerate(ids):
        if item_id in seen:
            raise ScenarioError(f"{path}[{index}].{key}", f"duplicate id {item_id!r}")
        seen.add(item_id)


def _known(value: str, known: set[str], path: str, what: str) -> None:
    if value not in known:
        raise ScenarioError(path, f"unknown {what} {value!r}")


def _read_key_file(key: str, path: Path) -> Ed25519PrivateKey:
    """A PEM/PKCS#8 Ed25519 private key, or the raw 32 private bytes."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ScenarioError(key, f"cannot read {path}: {err.strerror}") from err
    if len(data) == 32:
        return Ed25519PrivateKey.from_private_bytes(data)
    try:
        loaded = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as err:
        raise ScenarioError(key, f"{path} is neither PEM nor 32 raw bytes") from err
    if not isinstance(loaded, Ed25519PrivateKey):
        raise ScenarioError(key, f"{path} is not an Ed25519 private key")
    return loaded
