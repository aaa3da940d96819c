"""The PostgreSQL backend's lease: a task's statements and transactions on one pooled connection."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from mock_building.service.clock import FakeClock
from mock_building.service.storage import open_database
from mock_building.service.storage.postgres import PostgresDatabase
from tests.service_support import NOON, client_for, make_app, sign_in, use_postgres


async def _backend_pid(database: PostgresDatabase) -> int:
    pid: int = await database.fetch_value("SELECT pg_backend_pid()")
    return pid


async def _create_table_then_fail(database: PostgresDatabase) -> None:
    async with database.transaction() as tx:
        await tx.execute("CREATE TABLE t (n INTEGER)")
        raise ZeroDivisionError


async def test_a_lease_keeps_statements_and_transactions_on_one_connection(postgres_url):
    database = await open_database(postgres_url)
    assert isinstance(database, PostgresDatabase)
    try:
        async with database.lease():
            leased = await _backend_pid(database)
            async with database.transaction() as tx:
                assert await tx.fetch_value("SELECT pg_backend_pid()") == leased
            with pytest.raises(ZeroDivisionError):
                await _create_table_then_fail(database)
            async with database.lease():  # nested: the same connection, still usable after a rollback
                assert await _backend_pid(database) == leased
                assert await database.fetch_value("SELECT to_regclass('t') IS NULL") is True
        assert database.pool.get_idle_size() == database.pool.get_size()  # given back
    finally:
        await database.close()


async def test_connections_go_out_in_the_order_they_were_asked_for(postgres_url):
    database = await PostgresDatabase.open(postgres_url, pool_size=1)
    order: list[str] = []

    async def take(name: str) -> None:
        async with database.lease():
            order.append(name)
            await database.fetch_value("SELECT 1")

    newcomer: list[asyncio.Task[None]] = []
    try:
        async with database.lease():
            # Started inside the lease, they inherit its context but must wait for a connection.
            waiting = [asyncio.create_task(take(f"waiter {n}")) for n in range(3)]
            await asyncio.sleep(0.05)  # all three are queued behind this lease
            # A request that arrives while the connection is being given back (as HTTP requests do
            # under load) must not jump the queue.
            asyncio.get_running_loop().call_soon(
                lambda: newcomer.append(asyncio.create_task(take("newcomer")))
            )
        await asyncio.gather(*waiting, *newcomer)
    finally:
        await database.close()
    assert order == ["waiter 0", "waiter 1", "waiter 2", "newcomer"]


async def test_a_grant_takes_one_connection_from_the_pool(postgres_url, monkeypatch):
    with use_postgres(postgres_url):
        app = await make_app(FakeClock(NOON))
    database = app.state.service.database
    acquired = 0
    acquire = asyncpg.Pool.acquire

    def counting_acquire(pool: asyncpg.Pool, *args: object, **kwargs: object) -> object:
        nonlocal acquired
        acquired += pool is database.pool
        return acquire(pool, *args, **kwargs)

    try:
        async with client_for(app) as client:
            alice = await sign_in(client, "alice", "alice-pw")
            monkeypatch.setattr(asyncpg.Pool, "acquire", counting_acquire)
            granted = await alice.grant("S1", "A-N", "BC-1")
        assert granted.status_code == 201
        assert acquired == 1  # authentication, the decision and the door's upkeep: one lease
    finally:
        await database.close()
