"""Replay caches: a door remembers accepted grant ids until the grants can no longer pass.

Grants live at most MAX_LIFETIME seconds, so a small bounded cache suffices; entries are
dropped once `now` passes their expiry (which already includes the clock leeway).
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["InMemoryReplayCache", "ReplayCache"]


class ReplayCache(Protocol):
    """What the verifier needs: ask whether a grant id was used, record one that now is."""

    def seen(self, grant_id: bytes) -> bool: ...

    def remember(self, grant_id: bytes, expires_at: int) -> None: ...


class InMemoryReplayCache:
    """A bounded dict of grant id -> time after which the grant cannot verify anyway.

    When full, the entry expiring soonest is evicted; filling it needs `capacity` accepted
    unlocks within one grant lifetime, which a lobby door never sees.
    """

    def __init__(self, capacity: int = 1024) -> None:
        if capacity < 1:
            raise ValueError("capacity must be positive")
        self._capacity = capacity
        self._entries: dict[bytes, int] = {}

    def seen(self, grant_id: bytes) -> bool:
        return grant_id in self._entries

    def remember(self, grant_id: bytes, expires_at: int) -> None:
        if grant_id not in self._entries and len(self._entries) >= self._capacity:
            del self._entries[min(self._entries, key=self._entries.__getitem__)]
        self._entries[grant_id] = expires_at

    def purge(self, now: int) -> int:
        """Forget grant ids whose expiry is before `now`; returns how many were dropped."""
        stale = [gid for gid, exp in self._entries.items() if exp < now]
        for gid in stale:
            del self._entries[gid]
        return len(stale)

    def __len__(self) -> int:
        return len(self._entries)
