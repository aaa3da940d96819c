"""Service fault injection (latency, random errors, down), settable at start and at run time.

"Down" answers every non-admin request with 503 problem+json rather than refusing connections:
the listening socket stays up so the admin endpoint can switch the fault off again, and clients
still see a fast, explicit failure. Admin endpoints are never faulted.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from mock_building.scenario.loader import ServiceFaultSettings

__all__ = ["FaultInjector"]


@dataclass
class FaultInjector:
    """The live fault settings plus a seeded random source, so error injection is reproducible."""

    settings: ServiceFaultSettings
    rng: random.Random
    sleep: Callable[[float], Awaitable[object]] = field(default=asyncio.sleep)

    @classmethod
    def create(cls, settings: ServiceFaultSettings | None = None, *, seed: int = 0) -> FaultInjector:
        # seeded on purpose: injected errors must be reproducible, and they guard no secret
        return cls(settings or ServiceFaultSettings(), random.Random(seed))  # noqa: S311

    def update(self, **changes: object) -> ServiceFaultSettings:
        self.settings = ServiceFaultSettings.model_validate(self.settings.model_dump() | changes)
        return self.settings

    async def delay(self) -> None:
        """The injected latency, if any (through `sleep`, which tests may replace)."""
        if self.settings.latency_ms:
            await self.sleep(self.settings.latency_ms / 1000)

    def should_fail(self) -> bool:
        """True when this request must get a 503: down, or unlucky under the error rate."""
        if self.settings.down:
            return True
        return self.settings.error_rate > 0 and self.rng.random() < self.settings.error_rate
