"""The building's one clock: real time, moved by whole days when `--today` names another date.

`mock-building up --today 2026-12-24` must make the service, which finds "today's" route from its
clock, and the doors, which check grant lifetimes against theirs, agree on the same shifted
time, or every grant would look not-yet-valid or expired at the door.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from mock_building.service.clock import Clock

__all__ = ["DayShiftedClock"]


class DayShiftedClock:
    """A `Clock` that also serves doors (`unix()`); the time of day stays that of `base`."""

    def __init__(self, base: Clock, today: date | None, zone: ZoneInfo) -> None:
        self._base = base
        real_today = base.now().astimezone(zone).date()
        self._shift = timedelta(days=((today or real_today) - real_today).days)

    def now(self) -> datetime:
        return self._base.now() + self._shift

    def today(self, zone: ZoneInfo) -> date:
        return self.now().astimezone(zone).date()

    def unix(self) -> float:
        return self.now().timestamp()
