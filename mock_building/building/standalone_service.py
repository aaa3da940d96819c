"""`mock-building serve`: the access service alone, what a carrier or a building operator deploys.

No radio, no doors, no dev routes: drivers' handhelds reach it over HTTP. The parent seeds the
database from the scenario once, then starts N workers (`workers.py`) that open the same database
without seeding. PostgreSQL is shared by every worker; SQLite is the embedded one-process store,
so it is served by one worker only.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from fastapi import FastAPI

from mock_building.building.running import BuildingError, stop_signals
from mock_building.building.workers import WorkerApp, start_workers
from mock_building.scenario.loader import Scenario, load_scenario
from mock_building.service import app_for_scenario
from mock_building.service.clock import SystemClock
from mock_building.service.storage import DEFAULT_POOL_SIZE, is_postgres_url

__all__ = ["ServeSettings", "run_service", "worker_app"]

MIN_WORKER_CONNECTIONS = 2
"""A grant holds one connection; the other is for what runs beside it (the faults' refresh)."""


@dataclass(frozen=True)
class ServeSettings:
    scenario_path: Path
    database: str  # a SQLite file path, or a postgresql:// URL
    workers: int = 1
    host: str = "127.0.0.1"
    port: int = 8750
    grant_rate_limit: int | None = None
    db_connections: int | None = None
    """PostgreSQL connections the whole service holds at most, shared evenly by its workers
    (None: DEFAULT_POOL_SIZE)."""

    def overrides(self) -> dict[str, Any]:
        """ServiceConfig fields set on the command line."""
        return {} if self.grant_rate_limit is None else {"grant_rate_limit": self.grant_rate_limit}

    def pool_size(self) -> int:
        """Each worker's share of `db_connections` (at least MIN_WORKER_CONNECTIONS).

        A pool per worker of the default size would let N workers hold N times the connections:
        past PostgreSQL's `max_connections` (100 by default) at 6 workers, and on the bench's two
        cores 2 workers x 20 connections made PostgreSQL spend 748 us per grant instead of 548.
        """
        return max(MIN_WORKER_CONNECTIONS, (self.db_connections or DEFAULT_POOL_SIZE) // self.workers)


async def _app(
    scenario: Scenario, database: str, overrides: dict[str, Any], *, pool_size: int, seed: bool
) -> FastAPI:
    config = dict(overrides)
    if scenario.service.password_cost is not None:
        config["password_cost"] = scenario.service.password_cost
    return await app_for_scenario(
        scenario, clock=SystemClock(), database=database, pool_size=pool_size, seed=seed, **config
    )


@asynccontextmanager
async def worker_app(
    scenario: str, database: str, overrides: dict[str, Any], pool_size: int
) -> AsyncIterator[FastAPI]:
    """One worker's service over the database the parent has seeded (the workers' app factory)."""
    app = await _app(load_scenario(Path(scenario)), database, overrides, pool_size=pool_size, seed=False)
    try:
        yield app
    finally:
        await app.state.service.database.close()


async def run_service(settings: ServeSettings, *, out: TextIO = sys.stdout) -> int:
    """Seed, start the workers, announce them, serve until SIGINT/SIGTERM (or a worker dies)."""
    if settings.workers > 1 and not is_postgres_url(settings.database):
        raise BuildingError(
            "sqlite_single_worker",
            f"--workers {settings.workers} needs a shared database: SQLite ({settings.database}) is the "
            "embedded one-process store; pass --database postgresql://… or use one worker",
        )
    if not is_postgres_url(settings.database):
        Path(settings.database).parent.mkdir(parents=True, exist_ok=True)
    scenario = load_scenario(settings.scenario_path)
    try:
        seeded = await _app(
            scenario, settings.database, settings.overrides(), pool_size=settings.pool_size(), seed=True
        )
    except OSError as err:  # e.g. no PostgreSQL listening there
        raise BuildingError(
            "database_unavailable", f"cannot open the database {_shown(settings.database)}: {err}"
        ) from err
    await seeded.state.service.database.close()
    options = {
        "scenario": str(settings.scenario_path.resolve()),
        "database": settings.database,
        "overrides": settings.overrides(),
        "pool_size": settings.pool_size(),
    }
    with stop_signals() as stop:  # a stop asked for during start-up is honoured once all workers are up
        try:
            pool = await start_workers(
                WorkerApp(f"{__name__}:worker_app", options),
                host=settings.host,
                port=settings.port,
                count=settings.workers,
            )
        except OSError as err:
            raise BuildingError(
                "port_unavailable",
                f"the access service cannot listen on port {settings.port}: {err.strerror}",
            ) from err
        out.write(f"LobbyKey access service: {pool.url}  (OpenAPI {pool.url}/openapi.json)\n")
        connections = (
            f" ({settings.pool_size()} connections per worker)" if is_postgres_url(settings.database) else ""
        )
        out.write(f"  database : {_shown(settings.database)}{connections}\n")
        out.write(f"  workers  : {len(pool.pids)} (pids {', '.join(map(str, pool.pids))})\n")
        out.write("ready\n")
        out.flush()
        await pool.supervise(stop)
    out.write("stopped\n")
    out.flush()
    return 0


def _shown(database: str) -> str:
    """The database as printed: a URL's password is never shown."""
    if not is_postgres_url(database) or "@" not in database:
        return database
    scheme, rest = database.split("://", 1)
    credentials, where = rest.rsplit("@", 1)
    return f"{scheme}://{credentials.split(':', 1)[0]}@{where}"
