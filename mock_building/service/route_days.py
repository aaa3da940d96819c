"""Each new day's routes, seeded as the day begins while the service keeps running.

A scenario's route without a `day` runs "today", so seeding adds it for the day the service starts
on. A service that keeps running (a carrier's deployment, the staging service QA teams share) would
have no routes after its first local midnight: drivers would get "no route today" until a restart.
`RouteDays` checks the scenario's local date every `CHECK_EVERY_S` while the app is served and adds
the new day's routes once it turns. Every worker may do it: a route is added only if it is missing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import date
from zoneinfo import ZoneInfo

from fastapi import FastAPI

from mock_building.errors import DatabaseUnavailable
from mock_building.scenario.loader import Scenario
from mock_building.service.clock import Clock
from mock_building.service.seed import seed_routes
from mock_building.service.storage import Database

__all__ = ["CHECK_EVERY_S", "RouteDays"]

CHECK_EVERY_S = 30.0
"""How long after midnight a new day's routes may be missing, at most."""
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

    @contextlib.asynccontextmanager
    async def kept(self, app: FastAPI) -> AsyncIterator[None]:
        """The app's lifespan: check the day every CHECK_EVERY_S while it is served."""
        task = asyncio.create_task(self._every_check(), name="route-days")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _every_check(self) -> None:
        while True:
            await asyncio.sleep(CHECK_EVERY_S)
            try:
                await self.catch_up()
            except DatabaseUnavailable as err:  # the next check tries again
                _log.warning("could not seed the new day's routes: %s", err)
            except Exception:  # a bug: said with its traceback, and the next check tries again
                _log.exception("could not seed the new day's routes")
