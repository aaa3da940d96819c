"""Shared parts for door tests: an issuer, a handheld, grants, a fake scheduler and clock."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mock_building.door.config import DoorConfig
from mock_building.door.controller import Attempt, DoorController, Session
from mock_building.door.faults import DoorFaults
from mock_building.door.store import DoorStore
from protocol.grant import GrantClaims, encode_claims
from protocol.keys import TrustedIssuerKey, TrustStore, derive_key_id, public_key_bytes
from protocol.sign1 import sign1
from protocol.unlock import build_unlock_request

NOW = 1_800_000_000
DOOR_ID = "ELM-N"
DOOR_ADDRESS = "C1:22:33:44:55:66"
ISSUER = "access.example"

_seeds = itertools.count(1)


def fixed_key() -> Ed25519PrivateKey:
    """Distinct, reproducible keys (deterministic tests)."""
    return Ed25519PrivateKey.from_private_bytes(next(_seeds).to_bytes(32, "big"))


@dataclass
class Issuer:
    key: Ed25519PrivateKey = field(default_factory=fixed_key)
    name: str = ISSUER

    @property
    def kid(self) -> bytes:
        return derive_key_id(public_key_bytes(self.key))

    def trusted(self) -> TrustedIssuerKey:
        return TrustedIssuerKey(kid=self.kid, issuer=self.name, public_key=public_key_bytes(self.key))

    def grant(
        self,
        handheld: Ed25519PrivateKey,
        *,
        door_id: str = DOOR_ID,
        now: int = NOW,
        lifetime: int = 120,
        claimed_issuer: str | None = None,
        signed_by: Ed25519PrivateKey | None = None,
    ) -> bytes:
        """A grant; the keyword arguments make the wrong ones (sign1 skips the issuer's checks)."""
        claims = GrantClaims.for_delivery(
            issuer=claimed_issuer or self.name,
            subject="driver-7",
            door_id=door_id,
            stop_id="stop-1",
            package_id="PKG-1",
            carrier="parcelco",
            confirmation_key=public_key_bytes(handheld),
            grant_id=next(_seeds).to_bytes(16, "big"),
            now=now,
            lifetime=lifetime,
        )
        return sign1(encode_claims(claims), signed_by or self.key, self.kid)


def unlock_request(
    grant: bytes, handheld: Ed25519PrivateKey, challenge: bytes, door_id: str = DOOR_ID
) -> bytes:
    return build_unlock_request(grant, handheld, challenge, door_id)


class FakeTimer:
    def __init__(self, scheduler: FakeScheduler, due: float, callback: Callable[[], object]) -> None:
        self.due, self.callback, self.cancelled = due, callback, False
        self._scheduler = scheduler

    def cancel(self) -> None:
        self.cancelled = True


class FakeScheduler:
    """`call_later` on a clock that moves only when told; also the door's wall clock."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now
        self.timers: list[FakeTimer] = []

    def __call__(self) -> float:
        return self.now

    def call_later(self, delay: float, callback: Callable[[], object]) -> FakeTimer:
        timer = FakeTimer(self, self.now + delay, callback)
        self.timers.append(timer)
        return timer

    def advance(self, seconds: float) -> None:
        self.now += seconds
        for timer in [t for t in self.timers if not t.cancelled and t.due <= self.now]:
            self.timers.remove(timer)
            timer.callback()


def door_config(state_dir: Path, issuer: Issuer, **overrides: object) -> DoorConfig:
    values: dict[str, object] = {
        "door_id": DOOR_ID,
        "name": "Elm St north",
        "private_key": DOOR_KEY,
        "trusted_keys": TrustStore.of([issuer.trusted()]),
        "address": DOOR_ADDRESS,
        "state_dir": state_dir,
        "hold_open_s": 5.0,
    }
    values.update(overrides)
    return DoorConfig(**values)  # type: ignore[arg-type]


def make_controller(
    config: DoorConfig, clock: FakeScheduler, faults: DoorFaults | None = None
) -> DoorController:
    return DoorController(config, DoorStore(config.state_dir), clock, faults=faults, clock=clock)


DOOR_KEY = fixed_key()


def decided(door: DoorController, request: bytes, session: Session) -> Attempt:
    """`handle_unlock` for tests that stay under the rate limit, where None would be a bug."""
    attempt = door.handle_unlock(request, session)
    assert attempt is not None, "the door rate-limited a request the test expected it to decide"
    return attempt
