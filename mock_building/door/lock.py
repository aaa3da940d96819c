"""The emulated bolt: unlocks, holds open for a configured time, relocks by itself.

Time comes from outside: `now` is passed in (the door clock, in seconds) and the relock is
scheduled on an injected scheduler (an asyncio loop in production, a fake in tests).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

__all__ = ["Cancellable", "EmulatedLock", "Scheduler"]


class Cancellable(Protocol):
    def cancel(self) -> None: ...


class Scheduler(Protocol):
    """What `asyncio.AbstractEventLoop.call_later` offers."""

    def call_later(self, delay: float, callback: Callable[[], object]) -> Cancellable: ...


class EmulatedLock:
    """Locked or open; `on_change` fires whenever that changes."""

    def __init__(
        self,
        hold_open_s: float,
        scheduler: Scheduler,
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self._hold_open_s = hold_open_s
        self._scheduler = scheduler
        self._on_change = on_change
        self._relock: Cancellable | None = None
        self.relock_at: float | None = None
        """Door-clock time the bolt will throw again; None while locked."""

    @property
    def locked(self) -> bool:
        return self.relock_at is None

    def unlock(self, now: float) -> float:
        """Open (or keep open) for the hold time from `now`; returns the relock time."""
        if self._relock is not None:
            self._relock.cancel()
        self._relock = self._scheduler.call_later(self._hold_open_s, self.relock)
        self.relock_at = now + self._hold_open_s
        self._on_change()
        return self.relock_at

    def relock(self) -> None:
        """Throw the bolt now (the timer calls this; so may a shutdown)."""
        if self._relock is not None:
            self._relock.cancel()
            self._relock = None
        if self.relock_at is not None:
            self.relock_at = None
            self._on_change()
