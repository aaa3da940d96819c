"""Limits the database keeps hold across processes, and chores run at once in several do their work
once: each handle here is a separate connection or pool, as two worker processes have."""

from __future__ import annotations

import asyncio
from zoneinfo import ZoneInfo

import pytest

from mock_building.service import gate, open_database
from mock_building.service.audit import AuditLog
from mock_building.service.gate import GrantGate
from mock_building.service.seed import seed_database
from mock_building.service.signers import CarrierSigners
from mock_building.service.storage import Database, accounts, grants, revocations
from tests.service_support import NOON, database_location, scenario

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


async def test_revoking_two_handhelds_in_one_transaction_never_deadlocks_with_revoking_one_of_them(
    tmp_path, service_backend
):
    """Revocations take the revoked-handheld count's row lock first, so they queue in one order."""
    if service_backend != "postgresql":
        pytest.skip("one SQLite connection runs one transaction at a time")
    first, second = await _two_handles(tmp_path)
    try:
        await seed_database(first, scenario(), NOON.date(), password_cost=2**10)
        for key_id in ("k1", "k2"):
            await accounts.add_handheld(first, key_id, "alice", key_id.encode() * 16, NOON.isoformat())
        async with first.transaction() as retiring:  # like a registration retiring two old keys
            await revocations.revoke_handheld(retiring, "k1", NOON.isoformat())
            admin = asyncio.create_task(_revoke(second, "k2"))
            await _until_waiting_for_a_lock(first, admin)
            await revocations.revoke_handheld(retiring, "k2", NOON.isoformat())
        await admin
        assert (
            await first.fetch_value("SELECT total FROM revocation_totals WHERE target_kind = 'handheld'") == 2
        )
    finally:
        await first.close()
        await second.close()


async def _revoke(database: Database, key_id: str) -> None:
    async with database.transaction() as tx:
        await revocations.revoke_handheld(tx, key_id, NOON.isoformat())


async def _until_waiting_for_a_lock(database: Database, task: asyncio.Task[None]) -> None:
    """Return once another session of the database waits for a lock (the task's first statement)."""
    async with asyncio.timeout(10):
        while not await database.fetch_value(
            "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            " AND datname = current_database())"
        ):
            assert not task.done(), task
            await asyncio.sleep(0.01)


def _gate(database: Database) -> GrantGate:
    """A worker's grant gate over `database` (what its chore forgets keys with)."""
    return GrantGate(
        database,
        AuditLog(database, b"secret"),
        CarrierSigners({}),
        zone=ZoneInfo("UTC"),
        rate_limit=1,
        rate_window_s=1,
    )


async def test_two_workers_forgetting_spent_keys_at_once_delete_each_once(tmp_path, monkeypatch):
    monkeypatch.setattr(gate, "FORGET_AT_MOST", 3)
    first, second = await _two_handles(tmp_path)
    try:
        await seed_database(first, scenario(), NOON.date(), password_cost=2**10)
        issued, expired, live = (NOON.replace(minute=m).isoformat() for m in (0, 2, 59))
        for n in range(40):
            expires = expired if n % 10 else live  # every tenth grant still lives at 12:05
            record = grants.GrantRecord(
                f"g{n:02d}", "alice", "parcelco", "k", "r", "S1", "A-N", "P1", issued, expires
            )
            async with first.transaction() as tx:
                await grants.record_grant(tx, record)
                assert await grants.remember_request(
                    tx, "alice", f"key-{n}", b"h", record.grant_id, b"t", issued
                )
        now = NOON.replace(minute=5)
        forgotten = await asyncio.gather(
            *(_gate(handle).forget_spent_requests(now) for handle in (first, second, first, second))
        )
        assert sum(forgotten) == 36
        kept = await first.fetch_all("SELECT idempotency_key FROM grant_requests ORDER BY idempotency_key")
        assert [row[0] for row in kept] == ["key-0", "key-10", "key-20", "key-30"]
    finally:
        await first.close()
        await second.close()
