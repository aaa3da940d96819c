"""What a door is provisioned with: identity, keys it trusts, timings, where it keeps state."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mock_building.door.errors import DoorError, DoorErrorReason
from protocol.ids import is_door_id
from protocol.keys import TrustStore
from protocol.maintenance import Authority
from protocol.unlock import CHALLENGE_TTL
from protocol.verify import DEFAULT_LEEWAY

__all__ = ["DEFAULT_ADVERTISING_INTERVAL_MS", "DEFAULT_HOLD_OPEN_S", "DoorConfig"]

DEFAULT_HOLD_OPEN_S = 5.0
DEFAULT_ADVERTISING_INTERVAL_MS = 30.0
ADVERTISING_INTERVAL_RANGE_MS = (20.0, 10_240.0)
"""What real controllers allow for legacy advertising (the emulator would accept less)."""


@dataclass(frozen=True)
class DoorConfig:
    """One door's provisioning; the same for the emulated radio and a real controller."""

    door_id: str
    """1-8 ASCII characters (protocol.ids): it travels in the advertisement."""
    name: str
    """Human name, used as the GAP device name; never advertised with personal data."""
    private_key: Ed25519PrivateKey = field(repr=False)
    """Signs receipts."""
    trusted_keys: TrustStore
    """Issuer keys whose grants this door accepts."""
    address: str
    """BLE address of the peripheral (a random static one in the mock building)."""
    state_dir: Path
    """Replay cache, receipt log and sequence counter live here and survive restarts."""
    hold_open_s: float = DEFAULT_HOLD_OPEN_S
    advertising_interval_ms: float = DEFAULT_ADVERTISING_INTERVAL_MS
    leeway_s: int = DEFAULT_LEEWAY
    """Clock tolerance when checking grant times."""
    challenge_ttl_s: float = CHALLENGE_TTL
    """How long a drawn challenge can be answered (at most the protocol's 10 s)."""
    authorities: tuple[Authority, ...] = ()
    """Keys whose maintenance statements this door accepts (building owner, access service)."""
    receipt_capacity: int = 512
    """Unacknowledged receipts kept before deliveries fail closed (SPEC section 7)."""
    seal_key: bytes | None = field(default=None, repr=False)
    """Shared with the service: when set, grants and statements must arrive sealed (SPEC section 15)."""

    def __post_init__(self) -> None:
        if not is_door_id(self.door_id):
            raise DoorError(
                DoorErrorReason.BAD_CONFIG, f"door id {self.door_id!r} is not 1-8 ASCII characters"
            )
        if not self.hold_open_s > 0:
            raise DoorError(DoorErrorReason.BAD_CONFIG, "hold_open_s must be positive")
        low, high = ADVERTISING_INTERVAL_RANGE_MS
        if not low <= self.advertising_interval_ms <= high:
            raise DoorError(DoorErrorReason.BAD_CONFIG, f"advertising interval must be {low}-{high} ms")
        if not 0 < self.challenge_ttl_s <= CHALLENGE_TTL:
            raise DoorError(DoorErrorReason.BAD_CONFIG, f"challenge_ttl_s must be in (0, {CHALLENGE_TTL}]")
        if self.leeway_s < 0:
            raise DoorError(DoorErrorReason.BAD_CONFIG, "leeway_s must not be negative")
