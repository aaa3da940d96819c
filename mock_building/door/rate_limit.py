"""How much work and storage a flood can cost a door (SPEC §8 "Availability").

Three limits, all O(1) memory per link or bounded tables:

* `LINK_ATTEMPTS_MAX` unlock attempts per link (an honest app needs one, two after a retry);
* a global token bucket on verifications, so many links at once cannot burn the CPU;
* `FloodWindow`: per window only `refusal_receipts` refusals get a receipt of their own; the
  rest (and dropped links) are counted and written as one receipt with a count when the window
  closes. Accepted unlocks always get their receipt: they need a valid single-use grant.

`PeerBackoff` keeps links from a peer address that keeps failing off the door for a doubling
time (real phones rotate addresses, so it only slows the simple attacker; the limits above do
not depend on it).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from mock_building.door.lock import Cancellable, Scheduler

__all__ = ["LINK_ATTEMPTS_MAX", "FloodWindow", "PeerBackoff", "TokenBucket"]

LINK_ATTEMPTS_MAX = 4
WINDOW_S = 60.0
REFUSAL_RECEIPTS_PER_WINDOW = 16
VERIFICATIONS_PER_S = 20.0
VERIFICATION_BURST = 40.0
BACKOFF_FIRST_S = 1.0
BACKOFF_MAX_S = 60.0
BACKOFF_PEERS_MAX = 256

Clock = Callable[[], float]


class TokenBucket:
    """`rate` tokens a second, at most `burst` saved up."""

    def __init__(
        self, monotonic: Clock, rate: float = VERIFICATIONS_PER_S, burst: float = VERIFICATION_BURST
    ) -> None:
        self._monotonic = monotonic
        self._rate, self._burst = rate, burst
        self._tokens, self._at = burst, monotonic()

    def take(self) -> bool:
        now = self._monotonic()
        self._tokens = min(self._burst, self._tokens + (now - self._at) * self._rate)
        self._at = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True


class FloodWindow:
    """Counts what got no receipt of its own and has `flush(count)` write one per window."""

    def __init__(
        self,
        scheduler: Scheduler,
        flush: Callable[[int], None],
        *,
        window_s: float = WINDOW_S,
        refusal_receipts: int = REFUSAL_RECEIPTS_PER_WINDOW,
    ) -> None:
        self._scheduler = scheduler
        self._flush = flush
        self._window_s = window_s
        self._refusal_receipts = refusal_receipts
        self._receipts_left = refusal_receipts
        self._timer: Cancellable | None = None
        self.pending = 0
        """Events counted in the open window, not yet in a receipt."""

    def admit_receipt(self) -> bool:
        """May this refusal have a receipt of its own? (Opens a window if none is open.)"""
        self._open()
        if self._receipts_left <= 0:
            return False
        self._receipts_left -= 1
        return True

    def suppress(self) -> None:
        """One more event for the window's counted receipt."""
        self._open()
        self.pending += 1

    def close(self) -> None:
        """Write what is pending now (shutdown, or the window's timer)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._receipts_left = self._refusal_receipts
        pending, self.pending = self.pending, 0
        if pending:
            self._flush(pending)

    def _open(self) -> None:
        if self._timer is None:
            self._timer = self._scheduler.call_later(self._window_s, self.close)


class PeerBackoff:
    """Peers whose links failed wait 1, 2, 4 ... 60 s before the door serves them again."""

    def __init__(self, monotonic: Clock) -> None:
        self._monotonic = monotonic
        self._peers: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def allowed(self, peer: str) -> bool:
        entry = self._peers.get(peer)
        return entry is None or self._monotonic() >= entry[0]

    def penalise(self, peer: str) -> None:
        _, last = self._peers.pop(peer, (0.0, 0.0))
        delay = min(BACKOFF_MAX_S, last * 2 if last else BACKOFF_FIRST_S)
        self._peers[peer] = (self._monotonic() + delay, delay)
        while len(self._peers) > BACKOFF_PEERS_MAX:
            self._peers.popitem(last=False)

    def forgive(self, peer: str) -> None:
        self._peers.pop(peer, None)
