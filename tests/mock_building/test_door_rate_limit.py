"""The door's limits on a fake clock: link timing, eviction, token bucket, flood window, backoff."""

from __future__ import annotations

from mock_building.door.link_guard import FIRST_REQUEST_S, LINK_LIFETIME_S, MAX_LINKS, DropReason, LinkGuard
from mock_building.door.rate_limit import (
    BACKOFF_MAX_S,
    BACKOFF_PEERS_MAX,
    VERIFICATION_BURST,
    FloodWindow,
    PeerBackoff,
    TokenBucket,
)
from tests.door_support import FakeScheduler


def _guard(clock: FakeScheduler) -> tuple[LinkGuard[str], list[tuple[str, DropReason]]]:
    dropped: list[tuple[str, DropReason]] = []
    return LinkGuard(clock, lambda link, reason: dropped.append((link, reason))), dropped


def test_silent_link_is_dropped_after_the_first_request_timeout_and_a_talker_at_the_lifetime() -> None:
    clock = FakeScheduler()
    guard, dropped = _guard(clock)
    guard.opened("silent")
    guard.opened("talker")
    guard.request("talker")
    clock.advance(FIRST_REQUEST_S + 0.01)
    assert dropped == [("silent", DropReason.SILENT)]
    clock.advance(LINK_LIFETIME_S)
    assert dropped[-1] == ("talker", DropReason.TOO_LONG) and len(guard) == 0


def test_a_full_door_evicts_silent_links_before_one_that_is_talking() -> None:
    """Silent phones reconnecting as fast as they are cut push out each other, not the driver."""
    clock = FakeScheduler()
    guard, dropped = _guard(clock)
    guard.opened("driver")
    guard.request("driver")
    for n in range(3 * MAX_LINKS):
        guard.opened(f"silent-{n}")
    assert "driver" not in {link for link, _ in dropped}
    assert len(dropped) == 2 * MAX_LINKS + 1 and len(guard) == MAX_LINKS


def test_a_full_door_evicts_its_oldest_link() -> None:
    clock = FakeScheduler()
    guard, dropped = _guard(clock)
    for n in range(MAX_LINKS + 2):
        guard.opened(f"link-{n}")
    assert dropped == [("link-0", DropReason.EVICTED), ("link-1", DropReason.EVICTED)]
    assert len(guard) == MAX_LINKS
    guard.closed("link-5")
    clock.advance(LINK_LIFETIME_S + 1)
    assert len(dropped) == MAX_LINKS + 1  # every other link timed out once; the closed one never


def test_token_bucket_allows_a_burst_then_the_rate() -> None:
    clock = FakeScheduler()
    bucket = TokenBucket(clock, rate=10, burst=VERIFICATION_BURST)
    assert sum(bucket.take() for _ in range(100)) == VERIFICATION_BURST
    clock.advance(1)
    assert sum(bucket.take() for _ in range(100)) == 10


def test_flood_window_writes_one_counted_receipt_per_window() -> None:
    clock = FakeScheduler()
    flushed: list[int] = []
    window = FloodWindow(clock, flushed.append, window_s=60, refusal_receipts=2)
    admitted = [window.admit_receipt() for _ in range(5)]
    assert admitted == [True, True, False, False, False]
    for _ in range(1000):
        window.suppress()
    assert flushed == []
    clock.advance(60)
    assert flushed == [1000] and window.admit_receipt()
    clock.advance(60)
    assert flushed == [1000]  # nothing pending: nothing written


def test_backoff_doubles_is_forgiven_and_stays_bounded() -> None:
    clock = FakeScheduler()
    backoff = PeerBackoff(clock)
    backoff.penalise("p")
    assert not backoff.allowed("p")
    clock.advance(1)
    assert backoff.allowed("p")
    backoff.penalise("p")
    clock.advance(1.5)
    assert not backoff.allowed("p")  # 2 s the second time
    for _ in range(20):
        backoff.penalise("p")
    clock.advance(BACKOFF_MAX_S)
    assert backoff.allowed("p")
    backoff.forgive("p")
    for n in range(BACKOFF_PEERS_MAX + 50):
        backoff.penalise(f"peer-{n}")
    assert len(backoff._peers) == BACKOFF_PEERS_MAX  # the bound is the point
