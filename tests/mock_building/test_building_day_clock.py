"""The building's one clock: `--today` shifts whole days for the service and the doors alike."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from mock_building.building.day_clock import DayShiftedClock
from mock_building.service.clock import FakeClock

BASE = FakeClock(datetime(2026, 11, 23, 23, 30, tzinfo=UTC))


def test_the_day_shifted_clock_moves_whole_days_and_keeps_the_time_of_day() -> None:
    clock = DayShiftedClock(BASE, date(2026, 12, 24), ZoneInfo("UTC"))
    assert clock.now() == datetime(2026, 12, 24, 23, 30, tzinfo=UTC)
    assert clock.unix() == clock.now().timestamp()
    local = DayShiftedClock(BASE, None, ZoneInfo("Asia/Tokyo"))  # 08:30 on the 24th in Tokyo
    assert local.now() == BASE.now() and local.today(ZoneInfo("Asia/Tokyo")) == date(2026, 11, 24)
