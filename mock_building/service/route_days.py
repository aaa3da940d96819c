"""Each new day's routes, seeded as the day begins while the service keeps running.

A scenario's route without a `day` runs "today", so seeding adds it for the day the service starts
on. A service that keeps running (a carrier's deployment, the staging service QA teams share) would
have no routes after its first local midnight: drivers would get "no route today" until a restart.
`RouteDays.catch_up`, one of the service's chores (`chores.py`), checks the scenario's local date
and adds the new day's routes once it turns. Every worker may do it: a route is added only if it is
missing.
"""

from __future__ import annotations

import logging
from datetime import date
from zoneinfo import ZoneInfo

from mock_building.scenario.loader import Scenario
from mock_building.service.clock import Clock
from mock_building.service.seed import seed_routes
from mock_building.service.storage import Database

__all__ = ["RouteDays"]

_log = logging.getLogger(__name__)


class RouteDays:
    """Keeps the scenario's routes seeded for the service clock's current local day."""

    def __init__(
        self, database: Database, scenario: Scenario, clock: Clock, zone: ZoneInfo, *, seeded: date | None
    ) -> None:
        """`seeded`: the day whose routes are known to be in the database (None: the first check seeds)."""
        self._database = database
        self._scenario = scenario
        self._clock = clock
        self._zone = zone
        self._seeded = seeded

    async def catch_up(self) -> int:
        """Seed today's routes if the day has turned since they were last; how many were added."""
        today = self._clock.now().astimezone(self._zone).date()
        if today == self._seeded:
            return 0
        added = await seed_routes(self._database, self._scenario, today)
        self._seeded = today
        if added:
            _log.info("seeded %d routes for %s", added, today.isoformat())
        return added
