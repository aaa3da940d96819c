"""Retrying idempotent calls over unreliable links politely: exponential backoff with full jitter.

Full jitter (each wait uniform in [0, ceiling], the ceiling doubling per failure) spreads a fleet
of handhelds that lost the service at the same moment, instead of having them knock again in
lockstep. A wait the service asked for (`Retry-After`, RFC 9110 §10.2.3) is a floor: the client
never comes back sooner. A service that asks for longer than `max_wait` is not waited for: the
driver is told instead.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Backoff"]


@dataclass(frozen=True)
class Backoff:
    """`attempts` tries in all; the wait after the n-th failure is jitter() * min(cap, first * factor**(n-1))."""

    attempts: int = 6
    first: float = 1.0
    factor: float = 2.0
    cap: float = 30.0
    max_wait: float = 60.0
    jitter: Callable[[], float] = random.random

    def ceiling(self, failures: int) -> float:
        """The longest wait after the `failures`-th consecutive failure (1-based)."""
        return min(self.cap, self.first * self.factor ** (failures - 1))

    def delay(self, failures: int, retry_after: float | None = None) -> float:
        """Seconds to wait after the `failures`-th consecutive failure, never less than `retry_after`."""
        return max(self.jitter() * self.ceiling(failures), retry_after or 0.0)

    def gives_up(self, failures: int, retry_after: float | None = None) -> bool:
        """True when no further attempt is due: all used, or the service asks for too long a wait."""
        return failures >= self.attempts or (retry_after is not None and retry_after > self.max_wait)
