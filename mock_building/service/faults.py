"""Service fault injection (latency, random errors, down), settable at start and at run time.

"Down" answers every non-admin request with 503 problem+json rather than refusing connections:
the listening socket stays up so the admin endpoint can switch the fault off again, and clients
still see a fast, explicit failure. Admin endpoints are never faulted.

The settings live in the database, so a change made through one worker reaches them all: the
worker asked applies it at once, the others when they next look (at most every `REFRESH_S`).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from mock_building.errors import DatabaseUnavailable
from mock_building.scenario.loader import ServiceFaultSettings
from mock_building.service.storage import Database
from mock_building.service.storage import faults as store

__all__ = ["REFRESH_S", "FaultInjector"]

REFRESH_S = 0.5
"""How stale a worker's view of the faults may be: it re-reads the settings at most this often."""


@dataclass
class FaultInjector:
    """The live fault settings plus a seeded random source, so error injection is reproducible."""

    database: Database
    settings: ServiceFaultSettings
    rng: random.Random
    sleep: Callable[[float], Awaitable[object]] = field(default=asyncio.sleep)
    _version: int = field(default=0, init=False)
    _read_at: float = field(default=-REFRESH_S, init=False)

    @classmethod
    def create(
        cls, database: Database, settings: ServiceFaultSettings | None = None, *, seed: int = 0
    ) -> FaultInjector:
        """`settings` until the database says otherwise (a scenario's are stored when it is seeded)."""
        # seeded on purpose: injected errors must be reproducible, and they guard no secret
        return cls(database, settings or ServiceFaultSettings(), random.Random(seed))  # noqa: S311

    async def current(self, *, fresh: bool = False) -> ServiceFaultSettings:
        """The settings, re-read from the database if `fresh` or the last read is older than REFRESH_S.

        While the database cannot be reached the last settings stay (a request that needs the
        database is answered 503 by its route); only a `fresh` read insists.
        """
        now = time.monotonic()
        if fresh or now - self._read_at >= REFRESH_S:
            self._read_at = now
            try:
                self._adopt(await store.stored_faults(self.database))
            except DatabaseUnavailable:
                if fresh:
                    raise
        return self.settings

    async def update(self, **changes: object) -> ServiceFaultSettings:
        """Change the settings for every worker (validated first: a bad value changes nothing)."""
        settings = ServiceFaultSettings.model_validate(
            (await self.current(fresh=True)).model_dump() | changes
        )
        self._adopt(
            await store.store_faults(self.database, settings.latency_ms, settings.error_rate, settings.down)
        )
        return self.settings

    def _adopt(self, stored: store.StoredFaults | None) -> None:
        if stored is not None and stored.version != self._version:
            self._version = stored.version
            self.settings = ServiceFaultSettings(
                latency_ms=stored.latency_ms, error_rate=stored.error_rate, down=stored.down
            )

    async def draw(self) -> bool:
        """The injected latency (through `sleep`, which tests may replace), then whether this request
        must get a 503: down, or unlucky under the error rate."""
        settings = await self.current()
        if settings.latency_ms:
            await self.sleep(settings.latency_ms / 1000)
        if settings.down:
            return True
        return settings.error_rate > 0 and self.rng.random() < settings.error_rate
