"""The service database: Alembic migrations, stamping a pre-Alembic file, data kept across restarts."""

from __future__ import annotations

import sqlite3

import asyncpg
import pytest

from mock_building.errors import StoreError
from mock_building.service import open_database
from mock_building.service.audit import AuditKind, AuditLog
from mock_building.service.clock import FakeClock
from mock_building.service.storage import upkeep
from mock_building.service.storage.schema import HEAD
from protocol.maintenance import StatementKind
from tests.service_support import (
    NOON,
    client_for,
    make_app,
    seeded_at_revision,
    sign_in,
    sqlite_at_revision,
)

pytestmark = pytest.mark.usefixtures("service_backend")


def _revision(path) -> str:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]


async def test_a_fresh_database_is_at_the_newest_revision(tmp_path):
    database = await open_database(tmp_path / "new.sqlite")
    assert await database.fetch_value("SELECT COUNT(*) FROM alerts") == 0
    assert await database.fetch_value("SELECT version_num FROM alembic_version") == HEAD
    await database.close()


async def test_a_pre_alembic_schema_5_file_is_stamped_and_upgraded_in_place(tmp_path):
    path = tmp_path / "old.sqlite"
    database = sqlite_at_revision(path, "0001")  # the baseline is schema 5 exactly; then forget Alembic
    database.conn.executescript(
        "DROP TABLE alembic_version; PRAGMA user_version = 5;"
        " INSERT INTO carriers VALUES ('c', 'C', 'kid', x'00');"
    )
    await database.close()

    reopened = await open_database(path)
    assert await reopened.fetch_value("SELECT name FROM carriers") == "C"
    assert await reopened.fetch_value("SELECT COUNT(*) FROM grant_rate") == 0
    await reopened.close()
    assert _revision(path) == HEAD


async def test_a_database_from_newer_code_is_refused(tmp_path):
    path = tmp_path / "future.sqlite"
    await (await open_database(path)).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(StoreError, match="newer"):
        await open_database(path)


async def test_an_older_unknown_pre_alembic_file_is_refused(tmp_path):
    path = tmp_path / "ancient.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = 2")
    with pytest.raises(StoreError, match="predates"):
        await open_database(path)


async def test_restarting_keeps_sessions_keys_grants_and_audit(tmp_path):
    path = tmp_path / "service.sqlite"
    clock = FakeClock(NOON)
    first = await make_app(clock, path)
    async with client_for(first) as client:
        alice = await sign_in(client, "alice", "alice-pw")
        assert (await alice.grant("S1", "A-N", "BC-1")).status_code == 201
        assert (await alice.deliver("S1", ["P1", "P2"])).status_code == 201
    await first.state.service.database.close()

    second = await make_app(clock, path)  # seeding again is a no-op
    async with client_for(second) as client:
        alice.client = client
        route = await client.get("/v1/routes/today", headers=alice.headers)  # the old token still works
        assert route.status_code == 200
        assert route.json()["stops"][0]["status"] == "delivered"
        assert (await alice.grant("S1", "A-N", "BC-1")).json()["code"] == "stop_completed"
        assert (await alice.grant("S4", "B-1", "BC-5")).status_code == 201  # the handheld key is kept
    database = second.state.service.database
    assert await database.fetch_value("SELECT COUNT(*) FROM audit_events") == 4  # grant, delivery, 2 grants
    assert await database.fetch_value("SELECT COUNT(*) FROM drivers") == 3
    await database.close()


async def test_upgrading_to_0004_counts_revoked_handhelds_and_those_each_door_was_sent(tmp_path):
    """A file at revision 0003: a door's fetch learns what it is due from the counts the upgrade made."""
    path = tmp_path / "service.sqlite3"
    old = await seeded_at_revision(path, "0003")
    at = NOON.isoformat()
    await old.execute_many(
        "INSERT INTO handhelds (key_id, driver_id, public_key, registered_at, revoked_at)"
        " VALUES ($1, 'alice', $2, $3, $4)",
        [("k1", b"\1" * 32, at, at), ("k2", b"\2" * 32, at, at), ("k3", b"\3" * 32, at, None)],
    )
    await old.execute("INSERT INTO door_revocations_sent VALUES ('A-N', 'handheld', 'k1')")
    await old.close()

    database = await open_database(path)

    async def unsent(door_id: str) -> bool:
        state = await upkeep.door_state(database, door_id, at, int(StatementKind.RECEIPT_ACK))
        assert state is not None
        return state.revocations_unsent

    try:
        assert await unsent("A-N") and await unsent("A-S")
        assert await upkeep.unsent_revoked_handhelds(database, "A-N") == ["k2"]
        async with database.transaction() as tx:
            await upkeep.mark_revocations_sent(tx, "A-N", "handheld", ["k2"])
        assert not await unsent("A-N") and await unsent("A-S")
    finally:
        await database.close()


async def test_upgrading_to_0004_keeps_the_audit_events_and_their_ids_which_keep_growing(tmp_path):
    """SQLite's audit table is rebuilt without AUTOINCREMENT: a manager's feed cursor still only moves on."""
    path = tmp_path / "service.sqlite3"
    old = await seeded_at_revision(path, "0003")
    log = AuditLog(old, b"k" * 32)
    for door_id in ("A-N", "A-S", "A-N"):
        await log.record(
            old, at=NOON, kind=AuditKind.DOOR, outcome="door_unlocked", reason="ok", building_id="A",
            door_id=door_id, driver_id="alice",
        )  # fmt: skip
    ids = [row[0] for row in await old.fetch_all("SELECT id FROM audit_events ORDER BY id")]
    await old.close()

    database = await open_database(path)
    try:
        log = AuditLog(database, b"k" * 32)
        before = await log.building_feed("A")
        assert [cursor for cursor, _ in before] == ids  # a manager's cursor (an id then) still holds
        assert [event.door_id for _, event in before] == ["A-N", "A-S", "A-N"]
        await log.record(
            database, at=NOON, kind=AuditKind.DOOR, outcome="door_refused", reason="revoked", building_id="A",
            door_id="A-S", driver_id="bob",
        )  # fmt: skip
        [(cursor, event)] = await log.building_feed("A", after_id=before[-1][0])
        assert cursor > before[-1][0] and (event.door_id, event.outcome) == ("A-S", "door_refused")
        schema = await database.fetch_value("SELECT sql FROM sqlite_master WHERE name = 'audit_events'")
        assert "AUTOINCREMENT" not in schema
    finally:
        await database.close()


async def test_the_database_keeps_one_parcel_per_barcode_at_a_stop(tmp_path):
    """The gate finds a scanned parcel by (route, stop, barcode) in one statement: one row at most."""
    app = await make_app(FakeClock(NOON), tmp_path / "service.sqlite3")
    database = app.state.service.database
    copy = (
        "INSERT INTO packages (route_id, id, stop_id, barcode, unit, seq)"
        " SELECT route_id, $1, $2, barcode, unit, seq FROM packages WHERE barcode = 'BC-1'"
    )
    try:
        stop = await database.fetch_value("SELECT stop_id FROM packages WHERE barcode = 'BC-1'")
        other_stop = await database.fetch_value(
            "SELECT s.id FROM stops s JOIN packages p ON p.route_id = s.route_id AND p.barcode = 'BC-1'"
            " WHERE s.id <> p.stop_id ORDER BY s.id LIMIT 1"
        )
        with pytest.raises((sqlite3.IntegrityError, asyncpg.UniqueViolationError)):
            async with database.transaction() as tx:
                await tx.execute(copy, "P-twin", stop)
        async with database.transaction() as tx:  # the same barcode at another stop is another parcel
            assert await tx.execute(copy, "P-elsewhere", other_stop) == 1
        async with client_for(app) as client:
            alice = await sign_in(client, "alice", "alice-pw")
            assert (await alice.grant(stop, "A-N", "BC-1")).status_code == 201
    finally:
        await database.close()
