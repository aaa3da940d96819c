"""What a scenario says: the frozen types a loaded scenario is made of, and lookups over them.

`mock_building.scenario.loader` reads them from TOML (and re-exports them); everything else only reads them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mock_building.door.faults import DoorFaultSettings
from mock_building.scenario.keys import derive_ed25519_key, derive_secret
from protocol.keys import TrustedIssuerKey, derive_key_id, public_key_bytes
from protocol.maintenance import Authority, Role

__all__ = [
    "Building", "Carrier", "DeliveryWindow", "Door", "Driver", "Package", "Route", "Scenario",
    "ServiceFaultSettings", "Stop",
]


@dataclass(frozen=True)
class Carrier:
    id: str
    name: str
    kid: str
    private_key: Ed25519PrivateKey = field(repr=False, compare=False)

    @property
    def key_id(self) -> bytes:
        """The COSE `kid` of the carrier's grants: the ASCII bytes of `kid`."""
        return self.kid.encode("ascii")


@dataclass(frozen=True)
class Building:
    id: str
    name: str
    address: str
    accepted_carriers: tuple[str, ...]
    manager_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Door:
    id: str
    building: str
    name: str
    ble_address: str
    adv_interval_ms: int
    hold_open_s: float
    faults: DoorFaultSettings
    private_key: Ed25519PrivateKey = field(repr=False, compare=False)


@dataclass(frozen=True)
class Driver:
    id: str
    name: str
    password: str = field(repr=False)
    carrier: str


@dataclass(frozen=True)
class DeliveryWindow:
    """Local wall-clock window; both ends None means "always"."""

    start: time | None = None
    end: time | None = None

    @property
    def always(self) -> bool:
        return self.start is None

    def is_open(self, local: datetime) -> bool:
        if self.start is None or self.end is None:
            return True
        return self.start <= local.time().replace(tzinfo=None) < self.end


@dataclass(frozen=True)
class Package:
    id: str
    barcode: str
    unit: str | None = None
    expect: str | None = None


@dataclass(frozen=True)
class Stop:
    id: str
    building: str
    address: str
    window: DeliveryWindow
    packages: tuple[Package, ...]


@dataclass(frozen=True)
class Route:
    driver: str
    day: date | None  # None: "today", resolved when seeding
    stops: tuple[Stop, ...]

    def date_for(self, today: date) -> date:
        return self.day or today


@dataclass(frozen=True)
class ServiceFaultSettings:
    latency_ms: int = 0
    error_rate: float = 0.0
    down: bool = False


@dataclass(frozen=True)
class Scenario:
    seed: str = field(repr=False)
    timezone: str
    admin_token: str = field(repr=False)
    carriers: tuple[Carrier, ...]
    buildings: tuple[Building, ...]
    doors: tuple[Door, ...]
    drivers: tuple[Driver, ...]
    routes: tuple[Route, ...]
    service_faults: ServiceFaultSettings

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
