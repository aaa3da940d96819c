"""`mock-building serve`: the access service alone, in one or several worker processes.

Real processes from the outside: the CLI seeds the database and starts its workers; requests go
over loopback on connections this test holds, and /proc says which worker accepted each.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from collections import Counter
from pathlib import Path

import asyncpg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mock_building.building.standalone_service import ServeSettings
from mock_building.service.storage import DEFAULT_POOL_SIZE
from protocol.api import b64url_encode
from protocol.keys import public_key_bytes
from tests.accepted_sockets import accepted_by
from tests.building_process import CHILD_ENV, REPO, ServiceProcess, serve_command, service_serving
from tests.postgres_server import free_port
from tests.processes import alive, parent_of
from tests.raw_http import RawConnection
from tests.service_support import SCENARIO_TOML

GRANT = {"stop_id": "S1", "door_id": "A-S", "barcode": "BC-1"}  # alice's stop without a delivery window
_MAX_CONNECTIONS = 400  # plenty for the kernel to hand some to each of two idle workers


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    path = tmp_path / "service.toml"
    path.write_text(SCENARIO_TOML, encoding="utf-8")
    return path


async def _signed_in(url: str) -> tuple[dict[str, str], str]:
    """The driver's bearer header and a registered handheld key id."""
    connection = await RawConnection.open(url)
    try:
        status, tokens = await connection.request(
            "POST", "/v1/auth/sign-in", body={"driver_id": "alice", "password": "alice-pw"}
        )
        assert status == 200, tokens
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        key = b64url_encode(public_key_bytes(Ed25519PrivateKey.generate()))
        status, registered = await connection.request(
            "POST", "/v1/handheld-keys", body={"public_key": key}, headers=headers
        )
        assert status == 201, registered
        return headers, registered["key_id"]
    finally:
        connection.close()


async def _on_a_new_connection(
    service: ServiceProcess, method: str, path: str, *, headers: dict[str, str], body: object = None
) -> tuple[int, int]:
    """(status, pid of the worker that accepted the connection) for one request on a fresh connection."""
    connection = await RawConnection.open(service.url)
    try:
        status, _ = await connection.request(method, path, body=body, headers=headers)
        worker, _ = accepted_by(connection.client_address, connection.server_address, service.worker_pids)
        return status, worker
    finally:
        connection.close()


def _refused(scenario: Path, database: str, *, workers: int = 1) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        serve_command(scenario, database, workers=workers),
        cwd=REPO,
        env=CHILD_ENV,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    return done


def test_several_workers_on_sqlite_are_refused_before_anything_is_written(
    scenario: Path, tmp_path: Path
) -> None:
    database = tmp_path / "service.sqlite3"
    done = _refused(scenario, str(database), workers=2)
    assert "error [sqlite_single_worker]" in done.stderr and "postgresql://" in done.stderr
    assert not database.exists()


def test_an_unreachable_postgresql_is_one_error_line_that_hides_the_password(scenario: Path) -> None:
    done = _refused(scenario, f"postgresql://carrier:s3cret@127.0.0.1:{free_port()}/lobbykey")  # no one there
    assert "error [database_unavailable]" in done.stderr and "carrier@127.0.0.1" in done.stderr
    assert "s3cret" not in done.stderr + done.stdout


async def test_one_sqlite_worker_serves_the_seeded_scenario_and_stops_on_sigterm(
    scenario: Path, tmp_path: Path
) -> None:
    with service_serving(scenario, str(tmp_path / "service.sqlite3")) as service:
        (worker,) = service.worker_pids
        assert parent_of(worker) == service.process.pid
        headers, key_id = await _signed_in(service.url)  # the parent seeded the driver the worker signs in
        status, served_by = await _on_a_new_connection(
            service, "POST", "/v1/grants", body={**GRANT, "handheld_key_id": key_id}, headers=headers
        )
        assert (status, served_by) == (201, worker)
        assert service.stop() == 0
    assert "\nstopped\n" in service.output()
    assert not alive(service.worker_pids)


async def test_two_postgres_workers_both_serve_and_a_dead_one_stops_the_service(
    scenario: Path, postgres_url: str
) -> None:
    with service_serving(scenario, postgres_url, workers=2) as service:
        assert len(set(service.worker_pids)) == 2
        headers, _ = await _signed_in(service.url)
        served_by: set[int] = set()
        for _ in range(_MAX_CONNECTIONS):
            status, worker = await _on_a_new_connection(service, "GET", "/v1/routes/today", headers=headers)
            assert status == 200
            served_by.add(worker)
            if served_by == set(service.worker_pids):
                break
        assert served_by == set(service.worker_pids)
        victim, survivor = service.worker_pids
        os.kill(victim, signal.SIGKILL)
        assert service.process.wait(timeout=120) == 2  # the service stops by itself and says why
    assert f"error [worker_exited]: worker 1 (pid {victim}) exited with code -9" in service.output()
    assert not alive((victim, survivor))


async def test_the_grant_rate_limit_holds_across_two_workers(scenario: Path, postgres_url: str) -> None:
    """A driver allowed N grants per window gets exactly N, however the requests spread over workers."""
    limit = 5
    with service_serving(scenario, postgres_url, workers=2, grant_rate_limit=limit) as service:
        headers, key_id = await _signed_in(service.url)
        statuses: Counter[int] = Counter()
        per_worker: Counter[int] = Counter()
        # Keep asking until each worker has answered several grant requests (and well past the limit).
        while min(per_worker[pid] for pid in service.worker_pids) < 3 or sum(statuses.values()) < 3 * limit:
            assert sum(statuses.values()) < _MAX_CONNECTIONS, (
                f"requests never reached both workers: {per_worker}"
            )
            status, worker = await _on_a_new_connection(
                service, "POST", "/v1/grants", body={**GRANT, "handheld_key_id": key_id}, headers=headers
            )
            statuses[status] += 1
            per_worker[worker] += 1
        assert statuses[201] == limit, (statuses, per_worker)
        assert statuses[429] == sum(statuses.values()) - limit
        assert service.stop() == 0  # SIGTERM: every worker stops gracefully
    assert "\nstopped\n" in service.output()
    assert not alive(service.worker_pids)


async def _route_on_a_new_connection(url: str, headers: dict[str, str]) -> int:
    connection = await RawConnection.open(url)
    try:
        status, _ = await connection.request("GET", "/v1/routes/today", headers=headers)
        return status
    finally:
        connection.close()


async def _service_backends(postgres_url: str) -> int:
    """Connections to the test's database other than the one asking."""
    connection = await asyncpg.connect(postgres_url)
    try:
        count: int = await connection.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return count
    finally:
        await connection.close()


async def test_the_workers_share_the_database_connections_the_service_is_given(
    scenario: Path, postgres_url: str
) -> None:
    """`--db-connections 4` over two workers: two each, however many requests arrive at once."""
    with service_serving(scenario, postgres_url, workers=2, db_connections=4) as service:
        assert "(2 connections per worker)" in "".join(service.log)  # printed before "ready"
        headers, _ = await _signed_in(service.url)
        most = 0
        for _ in range(2):
            statuses = await asyncio.gather(
                *(_route_on_a_new_connection(service.url, headers) for _ in range(40))
            )
            assert set(statuses) == {200}
            most = max(most, await _service_backends(postgres_url))
        assert most == 4  # the load filled both pools, and neither grew past its share


def test_each_worker_gets_an_even_share_of_the_connections() -> None:
    settings = ServeSettings(Path("s.toml"), "postgresql://db", workers=4, db_connections=30)
    assert settings.pool_size() == 7
    assert (
        ServeSettings(Path("s.toml"), "postgresql://db", workers=3, db_connections=4).pool_size() == 2
    )  # the least
    assert (
        ServeSettings(Path("s.toml"), "postgresql://db").pool_size() == DEFAULT_POOL_SIZE
    )  # one worker: all
