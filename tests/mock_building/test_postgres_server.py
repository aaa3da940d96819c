"""The private PostgreSQL the tests run against: really ours, unprivileged, isolated per test, gone after stop."""

from __future__ import annotations

import os
import pwd
import socket
import tempfile
import uuid
from pathlib import Path

import asyncpg
import pytest

from tests.postgres_server import PostgresServer, PostgresStartError, start_postgres
from tests.processes import alive, children_of, mentioning, parent_of, uid_of


async def test_the_server_is_ours_unprivileged_and_owns_its_data(
    postgres_server: PostgresServer, postgres_url: str
) -> None:
    expected_uid = pwd.getpwnam("postgres").pw_uid if os.geteuid() == 0 else os.geteuid()
    assert uid_of(postgres_server.process.pid) == expected_uid
    assert postgres_server.data_dir.stat().st_uid == expected_uid
    assert oct(postgres_server.data_dir.stat().st_mode & 0o777) == "0o700"
    connection = await asyncpg.connect(postgres_url)
    try:
        # The backend serving us is a child of the postmaster we started, not of a system cluster.
        assert parent_of(await connection.fetchval("SELECT pg_backend_pid()")) == postgres_server.process.pid
        assert await connection.fetchval("SHOW data_directory") == str(postgres_server.data_dir)
        assert await connection.fetchval("SHOW port") == str(postgres_server.port)
        assert await connection.fetchval("SHOW unix_socket_directories") == str(postgres_server.socket_dir)
        assert await connection.fetchval("SHOW fsync") == "off"
        assert int(await connection.fetchval("SHOW max_connections")) >= 200
    finally:
        await connection.close()


_seen_databases: set[str] = set()


@pytest.mark.parametrize("run", ["first", "second"])
async def test_each_test_gets_a_fresh_empty_database(postgres_url: str, run: str) -> None:
    """Both runs create the same table: the later one, whichever it is, fails if the database were shared."""
    connection = await asyncpg.connect(postgres_url)
    try:
        name = await connection.fetchval("SELECT current_database()")
        assert postgres_url.endswith(f"/{name}")
        assert name not in _seen_databases
        _seen_databases.add(name)
        assert await connection.fetchval("SELECT to_regclass('public.marker')") is None
        await connection.execute("CREATE TABLE marker (run text)")
        await connection.execute("INSERT INTO marker VALUES ($1)", run)
    finally:
        await connection.close()


async def test_stop_ends_every_server_process_and_removes_the_directory() -> None:
    server = start_postgres()  # a second instance beside the session one
    try:
        connection = await asyncpg.connect(server.url())
        backend = await connection.fetchval("SELECT pg_backend_pid()")
        processes = {server.process.pid, *children_of(server.process.pid)}
        assert backend in processes and len(processes) > 2  # postmaster, our backend, background workers
    finally:
        server.stop()
    assert not alive(processes)
    assert not server.directory.exists()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((server.host, server.port), timeout=5).close()
    connection.terminate()


def test_a_failed_start_leaves_no_process_and_no_directory() -> None:
    prefix = f"lobbykey-pg-failing-{uuid.uuid4().hex[:8]}-"
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(PostgresStartError, match=r"could not bind|already in use"):
            start_postgres(port=taken.getsockname()[1], prefix=prefix)
    assert not list(Path(tempfile.gettempdir()).glob(f"{prefix}*"))
    assert not mentioning(prefix)
