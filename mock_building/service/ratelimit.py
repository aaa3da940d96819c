"""A per-key sliding-window rate limiter driven by the injected clock (no hidden time)."""

from __future__ import annotations

from collections import deque
from datetime import datetime

__all__ = ["RateLimiter"]


class RateLimiter:
    """At most `limit` events per `window_s` seconds for each key."""

    def __init__(self, limit: int, window_s: float) -> None:
        if limit < 1 or window_s <= 0:
            raise ValueError("a rate limit needs limit >= 1 and a positive window")
        self.limit = limit
        self.window_s = window_s
        self._events: dict[str, deque[float]] = {}

    def allow(self, key: str, now: datetime) -> bool:
        """Record an attempt for `key` at `now`; False (and nothing recorded) when over the limit."""
        stamp = now.timestamp()
        events = self._events.setdefault(key, deque())
        while events and events[0] <= stamp - self.window_s:
            events.popleft()
        if len(events) >= self.limit:
            return False
        events.append(stamp)
        return True

    def retry_after(self, key: str, now: datetime) -> int:
        """Whole seconds until `key` may try again (for the Retry-After header)."""
        events = self._events.get(key)
        if not events or len(events) < self.limit:
            return 0
        return max(1, int(events[0] + self.window_s - now.timestamp() + 0.999))
