"""Shared set-up for the access-service tests: a small scenario, a fake clock, signed-in drivers."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from alembic import command
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI

from mock_building.building.serving import serve_app
from mock_building.scenario.loader import Scenario, parse_scenario
from mock_building.service import app_for_scenario
from mock_building.service.asgi import AccessService
from mock_building.service.clock import FakeClock
from mock_building.service.seed import seed_database
from mock_building.service.storage import Row, SqliteDatabase, open_database
from mock_building.service.storage.schema import _config
from protocol.api import b64url_encode
from protocol.keys import public_key_bytes
from protocol.reasons import Outcome, ReasonCode
from protocol.receipt import GENESIS_HASH, Receipt, receipt_digest, sign_receipt
from protocol.seal import open_sealed, seal_key
from protocol.unlock import GRANT_FIELD_MAX

NOON = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
ADMIN = "test-admin-token"
MANAGER_A = "manager-of-a"

SCENARIO_TOML = f"""
version = 1
seed = "service-tests"
[service]
admin_token = "{ADMIN}"

[[carriers]]
id = "parcelco"
name = "ParcelCo"
[[carriers]]
id = "swiftship"
name = "SwiftShip"

[[buildings]]
id = "A"
name = "Alpha House"
address = "1 Alpha St"
accepted_carriers = ["parcelco", "swiftship"]
manager_token = "{MANAGER_A}"
[[buildings]]
id = "B"
name = "Beta Court"
address = "2 Beta Rd"
accepted_carriers = ["parcelco"]
[[buildings]]
id = "C"
name = "Gamma Tower"
address = "3 Gamma Ave"
accepted_carriers = ["swiftship"]

[[doors]]
id = "A-N"
building = "A"
name = "North entrance"
[[doors]]
id = "A-S"
building = "A"
name = "South entrance"
[[doors]]
id = "B-1"
building = "B"
name = "Lobby"
[[doors]]
id = "C-1"
building = "C"
name = "Lobby"

[[drivers]]
id = "alice"
name = "Alice Example"
password = "alice-pw"
carrier = "parcelco"
[[drivers]]
id = "bob"
name = "Bob Example"
password = "bob-pw"
carrier = "parcelco"

[[drivers]]
id = "carol"
name = "Carol Example"
password = "carol-pw"
carrier = "swiftship"

[[routes]]
driver = "alice"
  [[routes.stops]]
  id = "S1"
  building = "A"
  packages = [{{ id = "P1", barcode = "BC-1", unit = "2B" }}, {{ id = "P2", barcode = "BC-2" }}]
  [[routes.stops]]
  id = "S2"
  building = "B"
  window = {{ start = "08:00", end = "10:00" }}
  packages = [{{ id = "P3", barcode = "BC-3" }}]
  [[routes.stops]]
  id = "S3"
  building = "C"
  packages = [{{ id = "P4", barcode = "BC-4" }}]
  [[routes.stops]]
  id = "S4"
  building = "B"
  window = {{ start = "11:30", end = "12:30" }}
  packages = [{{ id = "P5", barcode = "BC-5" }}]

[[routes]]
driver = "bob"
  [[routes.stops]]
  id = "T1"
  building = "A"
  packages = [{{ id = "Q1", barcode = "BC-T1" }}]

[[routes]]
driver = "carol"
  [[routes.stops]]
  id = "U1"
  building = "A"
  packages = [{{ id = "R1", barcode = "BC-U1" }}]
  [[routes.stops]]
  id = "U2"
  building = "B"
  packages = [{{ id = "R2", barcode = "BC-U2" }}]
"""


def scenario() -> Scenario:
    return parse_scenario(SCENARIO_TOML)


def door_chain(
    door_id: str,
    count: int,
    *,
    grant_ids: dict[int, bytes] | None = None,
    maintained: dict[int, int] | None = None,
) -> list[bytes]:
    """`count` correctly chained receipts of a door from seq 0, signed with its scenario key.

    Receipt `seq` quotes `grant_ids[seq]` as an unlock, if given; says the door applied statement
    `maintained[seq]`, if given; else it is a refusal.
    """
    key = scenario().door(door_id).private_key
    blobs, prev = [], GENESIS_HASH
    for seq in range(count):
        grant_id = (grant_ids or {}).get(seq)
        outcome = Outcome.UNLOCKED if grant_id else Outcome.REFUSED
        if seq in (maintained or {}):
            outcome = Outcome.MAINTAINED
        receipt = Receipt(
            door_id,
            seq,
            prev,
            grant_id,
            outcome,
            ReasonCode.MALFORMED if outcome is Outcome.REFUSED else ReasonCode.OK,
            int(NOON.timestamp()) + seq,
            statement=(maintained or {}).get(seq),
        )
        blob = sign_receipt(receipt, key)
        blobs.append(blob)
        prev = receipt_digest(blob)
    return blobs


def database_location(tmp_path: Path) -> str | Path:
    """Where the test's backend keeps a service database: opening it twice gives two "workers"."""
    return _postgres_url or tmp_path / "service.sqlite3"


class HandheldClock:
    """A handheld's clock (the driver app's `Clock` port) moved together with the service's fake clock."""

    def __init__(self, service: FakeClock) -> None:
        self.service = service
        self.mono = 0.0

    def now(self) -> float:
        return self.service.now().timestamp()

    def monotonic(self) -> float:
        return self.mono

    def advance(self, seconds: float) -> None:
        self.service.advance(seconds)
        self.mono += seconds


@dataclass
class Driver:
    """A signed-in driver with a registered handheld key."""

    client: httpx.AsyncClient
    headers: dict[str, str]
    refresh_token: str
    handheld: Ed25519PrivateKey
    key_id: str

    async def grant(
        self, stop_id: str, door_id: str, barcode: str, *, key_id: str | None = None
    ) -> httpx.Response:
        body = {
            "stop_id": stop_id,
            "door_id": door_id,
            "barcode": barcode,
            "handheld_key_id": key_id or self.key_id,
        }
        return await self.client.post("/v1/grants", json=body, headers=self.headers)

    async def deliver(
        self,
        stop_id: str,
        package_ids: list[str],
        *,
        delivery_id: str | None = None,
        grant_id: str | None = None,
    ) -> httpx.Response:
        body = {
            "delivery_id": delivery_id or str(uuid.uuid4()),
            "stop_id": stop_id,
            "package_ids": package_ids,
            "delivered_at": NOON.isoformat(),
        }
        if grant_id:
            body["grant_id"] = grant_id
        return await self.client.post("/v1/deliveries", json=body, headers=self.headers)


async def sign_in(client: httpx.AsyncClient, driver_id: str, password: str) -> Driver:
    tokens = await client.post("/v1/auth/sign-in", json={"driver_id": driver_id, "password": password})
    assert tokens.status_code == 200, tokens.text
    headers = {"Authorization": f"Bearer {tokens.json()['access_token']}"}
    handheld = Ed25519PrivateKey.generate()
    registered = await client.post(
        "/v1/handheld-keys", json={"public_key": b64url_encode(public_key_bytes(handheld))}, headers=headers
    )
    assert registered.status_code == 201, registered.text
    return Driver(client, headers, tokens.json()["refresh_token"], handheld, registered.json()["key_id"])


def unseal(token: bytes, door_id: str) -> bytes:
    """The grant inside what the service handed out: sealed for its door (SPEC section 15)."""
    return open_sealed(token, seal_key(scenario().door_seal_key(door_id)), GRANT_FIELD_MAX)


_postgres_url: str | None = None
"""The PostgreSQL database of the running test (see `use_postgres`); None: SQLite."""


@contextmanager
def use_postgres(url: str) -> Iterator[None]:
    """Within this block, every service the helpers here make uses the PostgreSQL database `url`."""
    global _postgres_url  # test-wide backend choice, set by one fixture
    _postgres_url = url
    try:
        yield
    finally:
        _postgres_url = None


async def make_app(clock: FakeClock, db_path: Path | None = None, **overrides: Any) -> AccessService:
    """The service over the test's backend: its PostgreSQL database, else `db_path` or memory.

    `overrides` are ServiceConfig fields, passed on as they are (app_for_scenario checks them).
    """
    database = _postgres_url or db_path or ":memory:"
    return await app_for_scenario(
        scenario(), clock=clock, database=database, password_cost=2**10, **overrides
    )


def sqlite_at_revision(path: Path, revision: str) -> SqliteDatabase:
    """A SQLite file migrated by Alembic only up to `revision` (an older schema, to upgrade from)."""
    database = SqliteDatabase.open(path)
    engine = sa.create_engine("sqlite://", creator=lambda: database.conn, poolclass=sa.pool.StaticPool)
    with engine.connect() as connection:
        command.upgrade(_config(connection), revision)
        connection.commit()
    return database


async def seeded_at_revision(path: Path, revision: str) -> SqliteDatabase:
    """`sqlite_at_revision`, with the test scenario seeded."""
    database = sqlite_at_revision(path, revision)
    await seed_database(database, scenario(), NOON.date(), password_cost=2**10)
    return database


async def stored_rows(db_path: Path, sql: str, *args: object) -> list[Row]:
    """Rows of the test's database (its PostgreSQL one, else the file), read on a connection of its own."""
    database = await open_database(_postgres_url or db_path, migrate=False)
    try:
        return await database.fetch_all(sql, *args)
    finally:
        await database.close()


async def stored_value(db_path: Path, sql: str, *args: object) -> Any:
    """The first column of the first row `stored_rows` would give (None: no row)."""
    rows = await stored_rows(db_path, sql, *args)
    return rows[0][0] if rows else None


def client_for(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://service.test")


@asynccontextmanager
async def service_client(clock: FakeClock, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A fresh service (see `make_app`) and an in-process client for it; the database closed after."""
    app = await make_app(clock, **overrides)
    try:
        async with client_for(app) as client:
            yield client
    finally:
        await app.state.service.database.close()


@asynccontextmanager
async def two_workers(
    clock: FakeClock, db_path: Path
) -> AsyncIterator[tuple[AccessService, AccessService, httpx.AsyncClient, httpx.AsyncClient]]:
    """Two live services on one database (the test's PostgreSQL one, else the file), as two workers
    are: (first, second, a client of the first, a client of the second); the databases closed after."""
    first = await make_app(clock, db_path)
    second = await make_app(clock, db_path, seed=False)
    try:
        async with client_for(first) as one, client_for(second) as other:
            yield first, second, one, other
    finally:
        await first.state.service.database.close()
        await second.state.service.database.close()


def admin() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN}"}


@asynccontextmanager
async def served_client(
    db_path: Path, clock: FakeClock, **overrides: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """The service on a real uvicorn over loopback TCP, on a real database file, and a client for it."""
    app = await make_app(clock, db_path, **overrides)
    server = await serve_app(app, "127.0.0.1", 0)
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            yield client
    finally:
        await server.stop()
        await app.state.service.database.close()
