"""The service database: numbered migrations, upgrades in place, file databases keep their data."""

from __future__ import annotations

import sqlite3

import pytest

from mock_building.errors import StoreError
from mock_building.service import app_for_scenario
from mock_building.service.clock import FakeClock
from mock_building.service.db import Store, migrations
from tests.service_support import NOON, client_for, scenario, sign_in


def test_fresh_database_is_at_the_latest_schema():
    store = Store.open()
    assert store.schema_version == len(migrations()) >= 4
    columns = {row[1] for row in store.conn.execute("PRAGMA table_info(grants)")}
    assert "revoked_at" in columns
    assert store.conn.execute("SELECT COUNT(*) FROM alerts").fetchone()[0] == 0


def test_a_schema_1_file_is_upgraded_in_place(tmp_path):
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(migrations()[0][1] + "\nPRAGMA user_version = 1;")
    conn.execute("INSERT INTO carriers VALUES ('c', 'C', 'kid', x'00')")
    conn.commit()
    conn.close()
    store = Store.open(path)
    assert store.schema_version == len(migrations())
    assert store.conn.execute("SELECT name FROM carriers").fetchone()[0] == "C"
    assert store.conn.execute("SELECT COUNT(*) FROM revocations").fetchone()[0] == 0


def test_a_database_from_newer_code_is_refused(tmp_path):
    path = tmp_path / "future.sqlite"
    Store.open(path).close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(StoreError, match="newer"):
        Store.open(path)


async def test_reopening_a_file_database_keeps_sessions_keys_grants_and_audit(tmp_path):
    path = tmp_path / "service.sqlite"
    clock = FakeClock(NOON)
    first = app_for_scenario(scenario(), clock=clock, db_path=path, password_cost=2**10)
    async with client_for(first) as client:
        alice = await sign_in(client, "alice", "alice-pw")
        assert (await alice.grant("S1", "A-N", "BC-1")).status_code == 201
        assert (await alice.deliver("S1", ["P1", "P2"])).status_code == 201
    first.state.service.store.close()

    second = app_for_scenario(
        scenario(), clock=clock, db_path=path, password_cost=2**10
    )  # seeding again is a no-op
    async with client_for(second) as client:
        alice.client = client
        route = await client.get(
            "/v1/routes/today", headers=alice.headers
        )  # the old access token still works
        assert route.status_code == 200
        assert route.json()["stops"][0]["status"] == "delivered"
        assert (await alice.grant("S1", "A-N", "BC-1")).json()["code"] == "stop_completed"
        assert (
            await alice.grant("S4", "B-1", "BC-5")
        ).status_code == 201  # the handheld key is still registered
    counts = second.state.service.store.conn.execute("SELECT COUNT(*) FROM audit_events").fetchone()[0]
    assert counts == 4  # grant, delivery, refused grant, grant
    assert second.state.service.store.conn.execute("SELECT COUNT(*) FROM drivers").fetchone()[0] == 3
