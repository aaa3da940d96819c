"""Links that make no progress are dropped, so a silent phone cannot hold the door.

A link must send its first ATT request within `FIRST_REQUEST_S` of connecting and is closed
`LINK_LIFETIME_S` after connecting, whatever it does: an honest unlock needs well under a
second (MTU, discovery, CCCD, two round trips), so 3 s leaves room for slow phones, and 10 s
bounds a slow-loris that trickles requests. At most `MAX_LINKS` links are served at once; a
new link beyond that evicts the oldest link that has sent nothing yet (else the oldest), so the
door keeps advertising, and silent phones that reconnect as fast as they are cut push out each
other, never an honest phone that is already talking.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from enum import Enum
from typing import Generic, TypeVar

from mock_building.door.lock import Cancellable, Scheduler

__all__ = ["FIRST_REQUEST_S", "LINK_LIFETIME_S", "MAX_LINKS", "DropReason", "LinkGuard"]

FIRST_REQUEST_S = 3.0
LINK_LIFETIME_S = 10.0
MAX_LINKS = 8

_Link = TypeVar("_Link", bound=Hashable)


class DropReason(Enum):
    SILENT = "silent"
    TOO_LONG = "too_long"
    EVICTED = "evicted"
    TOO_MANY_ATTEMPTS = "too_many_attempts"


@dataclass
class _Timers:
    first_request: Cancellable | None
    lifetime: Cancellable


class LinkGuard(Generic[_Link]):
    """Times each link; `drop(link, reason)` is called once for a link that overstays."""

    def __init__(
        self,
        scheduler: Scheduler,
        drop: Callable[[_Link, DropReason], None],
        *,
        first_request_s: float = FIRST_REQUEST_S,
        lifetime_s: float = LINK_LIFETIME_S,
        max_links: int = MAX_LINKS,
    ) -> None:
        self._scheduler = scheduler
        self._drop = drop
        self._first_request_s = first_request_s
        self._lifetime_s = lifetime_s
        self._max_links = max_links
        self._links: dict[_Link, _Timers] = {}  # insertion order = age

    def opened(self, link: _Link) -> None:
        """Start timing `link`; evicts a link when the door is full (see `_victim`)."""
        while len(self._links) >= self._max_links:
            self._expire(self._victim(), DropReason.EVICTED)
        later = self._scheduler.call_later
        self._links[link] = _Timers(
            first_request=later(self._first_request_s, lambda: self._expire(link, DropReason.SILENT)),
            lifetime=later(self._lifetime_s, lambda: self._expire(link, DropReason.TOO_LONG)),
        )

    def request(self, link: _Link) -> None:
        """The link sent an ATT request: it is no longer silent."""
        timers = self._links.get(link)
        if timers is not None and timers.first_request is not None:
            timers.first_request.cancel()
            timers.first_request = None

    def closed(self, link: _Link) -> None:
        timers = self._links.pop(link, None)
        if timers is not None:
            if timers.first_request is not None:
                timers.first_request.cancel()
            timers.lifetime.cancel()

    def close_all(self) -> None:
        """Stop timing every link (the door is shutting down; nothing is dropped or counted)."""
        for link in list(self._links):
            self.closed(link)

    def __len__(self) -> int:
        return len(self._links)

    def _victim(self) -> _Link:
        """The oldest link that has not sent a request yet, else the oldest link."""
        silent = (link for link, timers in self._links.items() if timers.first_request is not None)
        return next(silent, next(iter(self._links)))

    def _expire(self, link: _Link, reason: DropReason) -> None:
        if link in self._links:
            self.closed(link)
            self._drop(link, reason)
