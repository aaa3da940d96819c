"""Backoff with full jitter: waits spread over [0, ceiling], never shorter than the service asked."""

from __future__ import annotations

import random

from driver_app.core.retry import Backoff


def test_full_jitter_spreads_waits_over_the_whole_doubling_ceiling() -> None:
    backoff = Backoff(attempts=6, first=1.0, factor=2.0, cap=30.0, jitter=random.Random(20261129).random)
    assert [backoff.ceiling(n) for n in range(1, 7)] == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0]
    waits = [backoff.delay(4) for _ in range(1000)]
    assert all(0.0 <= wait <= 8.0 for wait in waits)
    # Not the old fixed schedule: a thousand handhelds do not come back in lockstep.
    assert len({round(wait, 3) for wait in waits}) > 900
    assert min(waits) < 1.0 and max(waits) > 7.0


def test_retry_after_is_a_floor_and_too_long_a_wait_gives_up() -> None:
    backoff = Backoff(attempts=4, first=0.5, jitter=lambda: 1.0, max_wait=60.0)
    assert backoff.delay(1, retry_after=5.0) == 5.0  # the service's wait wins over a shorter own one
    assert backoff.delay(3, retry_after=1.0) == 2.0  # and the own one over a shorter Retry-After
    assert not backoff.gives_up(1, retry_after=60.0)
    assert backoff.gives_up(1, retry_after=61.0)
    assert backoff.gives_up(4) and not backoff.gives_up(3)
