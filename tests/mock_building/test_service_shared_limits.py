"""Limits the database keeps hold across processes: each handle here is a separate connection or pool,
as two worker processes have."""

from __future__ import annotations

import asyncio

import pytest

from mock_building.service import open_database
from mock_building.service.storage import Database, grants
from tests.service_support import database_location

pytestmark = pytest.mark.usefixtures("service_backend")


async def _two_handles(tmp_path) -> tuple[Database, Database]:
    target = database_location(tmp_path)
    return await open_database(target), await open_database(target)


_NOTHING = grants.GrantAsk(
    "no-key", "no-driver", "no-route", "no-stop", "no-door", "no-barcode", "no-carrier"
)


async def _take(database: Database, key: str, now: float) -> float:
    async with database.transaction() as tx:
        wait, facts = await grants.take_grant_slot(tx, key, now, _NOTHING, limit=5, window_s=60)
    assert facts is None  # the ask names nothing stored
    return wait


async def test_the_grant_rate_limit_holds_across_two_database_handles(tmp_path):
    first, second = await _two_handles(tmp_path)
    try:
        answers = await asyncio.gather(
            *(_take((first, second)[i % 2], "driver:alice", 1000.0) for i in range(24))
        )
        assert sum(1 for wait in answers if wait == 0.0) == 5
        assert all(wait == pytest.approx(12.0) for wait in answers if wait)  # a slot frees every 60/5 s
        assert await _take(second, "driver:bob", 1000.0) == 0.0  # keys are apart
        assert await _take(first, "driver:alice", 1011.5) == pytest.approx(0.5)
        assert await _take(second, "driver:alice", 1012.0) == 0.0
        assert await _take(first, "driver:alice", 1012.0) == pytest.approx(12.0)
    finally:
        await first.close()
        await second.close()
