"""Fixtures shared across test packages: a served virtual radio and a whole running building."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from driver_app.adapters.ble_sim import configure_sim_radio, detach_sim_radio
from driver_app.paths import LOG_DIR_ENV
from mock_building.building.running import BuildingSettings, RunningBuilding, start_building
from mock_building.radio import VirtualRadio
from tests.noon_clock import NoonClock
from tests.postgres_server import PostgresServer, start_postgres
from tests.service_support import use_postgres


@pytest.fixture(autouse=True, scope="session")
def _log_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Entry points called in-process (and their subprocesses) log here, not in the user's log dir."""
    previous = os.environ.get(LOG_DIR_ENV)
    os.environ[LOG_DIR_ENV] = str(tmp_path_factory.mktemp("logs"))
    yield
    if previous is None:
        del os.environ[LOG_DIR_ENV]
    else:
        os.environ[LOG_DIR_ENV] = previous


@pytest.fixture
async def radio() -> AsyncIterator[VirtualRadio]:
    radio = VirtualRadio()
    port = await radio.serve(port=0)
    configure_sim_radio("127.0.0.1", port)
    yield radio
    await detach_sim_radio()
    await radio.close()


@pytest.fixture
async def building(tmp_path: Path) -> AsyncIterator[tuple[RunningBuilding, NoonClock]]:
    clock = NoonClock()
    running = await start_building(
        BuildingSettings(data_dir=tmp_path / "building", port=0, radio_port=0), base_clock=clock
    )
    yield running, clock
    await running.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One private PostgreSQL for the whole run, started only if some test asks for it."""
    server = start_postgres()
    yield server
    server.stop()


@pytest.fixture
async def postgres_url(postgres_server: PostgresServer) -> AsyncIterator[str]:
    """A fresh, empty database of the private PostgreSQL for this test alone (dropped afterwards)."""
    async with postgres_server.fresh_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
async def service_backend(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    """The backend of every service tests.service_support makes in this test: each test runs on both.

    Access-service test modules ask for it with `pytestmark = pytest.mark.usefixtures("service_backend")`.
    On PostgreSQL each test gets a fresh database of the private server (started on first use).
    """
    if request.param == "sqlite":
        yield "sqlite"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    async with server.fresh_database() as url:
        with use_postgres(url):
            yield "postgresql"
