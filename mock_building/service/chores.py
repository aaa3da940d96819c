"""Chores the service does for itself while it is served: each worker, every `CHECK_EVERY_S`.

A deployment keeps running for days: without these, its first local midnight would leave drivers
with "no route today" until a restart, and every idempotency key ever sent would be kept with its
grant's token. Each chore is safe to run in every worker at once (it only adds what is missing or
deletes what is spent), and a failed round is logged and tried again at the next.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

from fastapi import FastAPI

from mock_building.errors import DatabaseUnavailable

__all__ = ["CHECK_EVERY_S", "Chore", "Chores"]

CHECK_EVERY_S = 30.0
"""How long a chore may wait to be done: a new day's routes may be missing this long after midnight."""
Chore = Callable[[], Awaitable[object]]
_log = logging.getLogger(__name__)


class Chores:
    """Named chores, run one after another every CHECK_EVERY_S while the app is served (its lifespan)."""

    def __init__(self, chores: Mapping[str, Chore]) -> None:
        """`chores`: what each does, in words that complete "could not ...", and the chore."""
        self._chores = dict(chores)

    @contextlib.asynccontextmanager
    async def kept(self, app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(self._every_round(), name="service-chores")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _every_round(self) -> None:
        while True:
            await asyncio.sleep(CHECK_EVERY_S)
            for what, chore in self._chores.items():
                try:
                    await chore()
                except DatabaseUnavailable as err:  # the next round tries again
                    _log.warning("could not %s: %s", what, err)
                except Exception:  # a bug: said with its traceback, and the next round tries again
                    _log.exception("could not %s", what)
