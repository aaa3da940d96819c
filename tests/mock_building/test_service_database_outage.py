"""The database goes away under a served service: 503 with Retry-After, one warning, then recovery."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest

from mock_building.service import faults
from mock_building.service.clock import FakeClock
from mock_building.service.storage import sqlite as sqlite_backend
from tests.postgres_server import PostgresServer
from tests.service_support import NOON, Driver, served_client, sign_in, use_postgres


@asynccontextmanager
async def _served(db_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Driver]]:
    """The service on a real server (on the test's PostgreSQL, if one is in use), and Alice signed in."""
    async with served_client(db_path, FakeClock(NOON)) as client:
        yield client, await sign_in(client, "alice", "alice-pw")


def _unavailable(answer: httpx.Response) -> bool:
    return (
        answer.status_code == 503
        and answer.json()["code"] == "service_unavailable"
        and answer.headers["retry-after"].isdigit()
    )


def _complaints(caplog: pytest.LogCaptureFixture) -> tuple[list[str], list[str]]:
    """(errors, warnings) logged so far."""
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    return errors, warnings


async def test_postgresql_refusing_connections_is_503_then_the_service_recovers(
    postgres_server: PostgresServer,
    postgres_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
):
    monkeypatch.setattr(faults, "REFRESH_S", 0)  # every request re-reads the faults: they must not fail it
    name = urlsplit(postgres_url).path.lstrip("/")
    admin = await asyncpg.connect(postgres_server.url())
    try:
        with use_postgres(postgres_url):
            async with _served(tmp_path / "unused.sqlite3") as (client, alice):
                assert (await alice.grant("S1", "A-N", "BC-1")).status_code == 201
                await admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
                await admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name
                )
                answers = [await alice.grant("S1", "A-N", "BC-1") for _ in range(3)]
                answers.append(await client.get("/v1/routes/today", headers=alice.headers))
                assert all(_unavailable(a) for a in answers), [a.text for a in answers]
                errors, warnings = _complaints(caplog)
                assert errors == [] and len([w for w in warnings if "database unavailable" in w]) == 1
                await admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
                assert (await alice.grant("S1", "A-N", "BC-1")).status_code == 201
    finally:
        await admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
        await admin.close()


async def test_a_sqlite_write_lock_held_too_long_is_503_then_the_service_recovers(
    tmp_path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    monkeypatch.setattr(sqlite_backend, "BUSY_TIMEOUT_S", 0.2)
    db = tmp_path / "service.sqlite3"
    async with _served(db_path=db) as (_, alice):
        other = sqlite3.connect(db, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process writing, and not letting go
        try:
            assert _unavailable(await alice.grant("S1", "A-N", "BC-1"))
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert (await alice.grant("S1", "A-N", "BC-1")).status_code == 201
    errors, _ = _complaints(caplog)
    assert errors == []
