"""Transport and session end: https off loopback, an untrusted certificate, sign-out, against the real service.

The TLS test serves the real access service with uvicorn on a loopback port under a certificate
from a throwaway CA (trustme) that the handheld does not trust; the database is a SQLite file, so
the test can see that nothing reached the service.
"""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import trustme
import uvicorn
from pydantic import ValidationError

from driver_app.adapters.access_http import HttpAccessClient
from driver_app.adapters.credentials_memory import MemoryCredentialStore
from driver_app.adapters.outbox_sqlite import SqliteOutbox
from driver_app.core.errors import InsecureConnection
from driver_app.core.handheld import REFRESH_TOKEN
from driver_app.core.messages import notice_for_error
from driver_app.core.workflow import DriverWorkflow
from driver_app.settings import Settings
from mock_building.building.serving import serve_app
from mock_building.service.clock import FakeClock
from tests.core_fakes import FakeDoors
from tests.service_support import NOON, HandheldClock, make_app

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
async def tls_service(tmp_path: Path) -> AsyncIterator[tuple[str, Path, trustme.CA]]:
    """The service over https on 127.0.0.1 with a certificate for "localhost" from an untrusted CA."""
    ca = trustme.CA()
    leaf = ca.issue_cert("localhost", "127.0.0.1")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    leaf.private_key_pem.write_to_path(str(key))
    db = tmp_path / "service.sqlite3"
    app = await make_app(FakeClock(NOON), db_path=db)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        app, ssl_certfile=str(cert), ssl_keyfile=str(key), log_config=None, lifespan="on", access_log=False
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    for _ in range(600):  # wait for the server to say it started, not a fixed sleep
        if server.started:
            break
        await asyncio.sleep(0.05)
    assert server.started
    try:
        yield f"https://localhost:{sock.getsockname()[1]}", db, ca
    finally:
        server.should_exit = True
        await task
        await app.state.service.database.close()


def _count(db: Path, table: str) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


async def test_an_untrusted_certificate_is_a_failed_secure_connection_naming_the_host(tls_service) -> None:
    url, db, ca = tls_service
    service_clock = FakeClock(NOON)
    access = HttpAccessClient(url, clock=HandheldClock(service_clock))
    workflow = DriverWorkflow(
        access=access,
        doors=FakeDoors(HandheldClock(service_clock), []),
        credentials=MemoryCredentialStore(),
        outbox=SqliteOutbox(db.parent / "outbox.db"),
        clock=HandheldClock(service_clock),
        on_close=(access.aclose,),
    )
    try:
        with pytest.raises(InsecureConnection) as caught:
            await workflow.sign_in("alice", "alice-pw")
    finally:
        await workflow.aclose()
    err = caught.value
    assert err.host == "localhost" and not err.retryable
    assert err.title == "Secure connection failed"
    notice = notice_for_error(err)
    assert notice.message == "Secure connection failed to localhost"
    assert "coverage" not in notice.next_action  # not reported as bad coverage
    assert _count(db, "sessions") == 0 and _count(db, "sign_in_throttle") == 0  # nothing reached the service
    # The same server, trusted, answers: the refusal was about trust and nothing else.
    trust = ssl.create_default_context()
    ca.configure_trust(trust)
    async with httpx.AsyncClient(verify=trust) as trusted:
        ok = await trusted.post(f"{url}/v1/auth/sign-in", json={"driver_id": "alice", "password": "alice-pw"})
    assert ok.status_code == 200


@pytest.mark.parametrize(
    "url", ["http://access.example.com", "http://10.0.0.7:8750", "ftp://access.example.com"]
)
def test_an_access_url_that_is_not_https_off_this_machine_is_refused(url: str) -> None:
    with pytest.raises(ValidationError, match="access_url"):
        Settings(access_url=url)


@pytest.mark.parametrize(
    "url", ["https://access.example.com", "http://127.0.0.1:8750", "http://localhost:1", "http://[::1]:2"]
)
def test_https_anywhere_and_http_to_loopback_are_accepted(url: str) -> None:
    assert Settings(access_url=url).access_url == url


def test_the_app_refuses_to_start_on_plain_http_to_another_host(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "driver_app.cli",
            "tui",
            "--access-url",
            "http://access.example.com",
            "--data-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        check=False,
    )
    assert result.returncode == 2
    assert "access_url: http:// is allowed only to this machine" in result.stderr
    assert "access.example.com" in result.stderr and "Traceback" not in result.stderr


async def test_sign_out_ends_the_session_at_the_service_and_on_the_handheld(tmp_path: Path) -> None:
    service_clock = FakeClock(NOON)
    db = tmp_path / "service.sqlite3"
    app = await make_app(service_clock, db_path=db)
    served = await serve_app(app, "127.0.0.1", 0)
    clock = HandheldClock(service_clock)
    credentials = MemoryCredentialStore()

    def workflow() -> DriverWorkflow:
        access = HttpAccessClient(served.url, clock=clock)
        return DriverWorkflow(
            access=access,
            doors=FakeDoors(clock, []),
            credentials=credentials,
            outbox=SqliteOutbox(tmp_path / "outbox.db"),
            clock=clock,
            on_close=(access.aclose,),
        )

    try:
        first = workflow()
        await first.sign_in("alice", "alice-pw")
        await first.load_route()
        refresh = credentials.get(REFRESH_TOKEN)
        assert refresh is not None
        assert await first.sign_out() is True
        assert credentials.get(REFRESH_TOKEN) is None
        assert first.state.route is None and first.state.driver_name is None
        await first.aclose()
        async with httpx.AsyncClient(base_url=served.url) as http:
            stolen = await http.post("/v1/auth/refresh", json={"refresh_token": refresh.decode()})
        assert stolen.status_code == 401
        with sqlite3.connect(db) as conn:
            assert conn.execute("SELECT end_reason FROM session_families").fetchall() == [("signed out",)]
        # After a restart of the app, nothing is resumed.
        second = workflow()
        assert await second.resume_session() is False
        # Signing out with the service out of reach still forgets the session here.
        await second.sign_in("alice", "alice-pw")
        await served.stop()
        assert await second.sign_out() is False
        assert credentials.get(REFRESH_TOKEN) is None
        await second.aclose()
    finally:
        await served.stop()
        await app.state.service.database.close()
