"""Exponential backoff for idempotent calls over unreliable links (grant requests, uploads)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """`attempts` tries in all, waiting first, first*factor, … (capped) between them."""

    attempts: int = 4
    first: float = 0.5
    factor: float = 2.0
    cap: float = 30.0

    def delay(self, failures: int) -> float:
        """Seconds to wait after the `failures`-th consecutive failure (1-based)."""
        return min(self.cap, self.first * self.factor ** (failures - 1))
