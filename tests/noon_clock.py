"""Real time shifted to 12:00 UTC today, so delivery windows are open whenever the suite runs."""

from __future__ import annotations

import datetime as dt
import time


class NoonClock:
    """Real time, shifted so it is 12:00 UTC today: both the building's and the handheld's clock."""

    def __init__(self) -> None:
        now = dt.datetime.now(dt.UTC)
        self._shift = now.replace(hour=12, minute=0, second=0, microsecond=0) - now

    def now(self) -> dt.datetime:  # mock_building's Clock
        return dt.datetime.now(dt.UTC) + self._shift


class HandheldNoonClock:
    """The same shift on the driver_app core's Clock port."""

    def __init__(self, base: NoonClock) -> None:
        self._base = base

    def now(self) -> float:
        return self._base.now().timestamp()

    def monotonic(self) -> float:
        return time.monotonic()
