"""Property-based fuzzing of the HTTP API from its own OpenAPI document (schemathesis).

The service runs on a real uvicorn over loopback with its database in a SQLite file; schemathesis
reads `/openapi.json` from it and sends schema-conforming and schema-violating requests to every
operation. Whatever arrives, the answer is a 4xx problem or a success, never a 5xx. The run is
seeded and short here (`LOBBYKEY_FUZZ_EXAMPLES`, default 8 per operation in the fuzzing phase, after
the schema's examples and the coverage phase's boundary values);
`make fuzz-api` runs the same test with many more examples.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Self

import httpx
import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig

from mock_building.building.serving import serve_app
from mock_building.service.clock import FakeClock
from tests.service_support import ADMIN, MANAGER_A, NOON, make_app

pytestmark = pytest.mark.usefixtures("service_backend")

EXAMPLES = int(os.environ.get("LOBBYKEY_FUZZ_EXAMPLES", "8"))
# Every refusal is a problem document, except 413 for a declared oversized body: that one is the
# server's own limit answering in text/plain before the app sees the request.
PROBLEM = "application/problem+json"


class _ServiceThread:
    """The service on its own event loop in a thread, so schemathesis' blocking client can call it."""

    def __init__(self, db_path: Path) -> None:
        self.url = ""
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=asyncio.run, args=(self._main(db_path),), daemon=True)

    async def _main(self, db_path: Path) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        app = await make_app(FakeClock(NOON), db_path=db_path)
        served = await serve_app(app, "127.0.0.1", 0)
        self.url = served.url
        self._ready.set()
        await self._stop.wait()
        await served.stop()
        await app.state.service.database.close()

    def __enter__(self) -> Self:
        self._thread.start()
        if not self._ready.wait(60):
            raise RuntimeError("the service did not start")
        return self

    def __exit__(self, *_: object) -> None:
        assert self._loop is not None and self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(60)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_ServiceThread]:
    with _ServiceThread(tmp_path_factory.mktemp("fuzz") / "service.sqlite3") as running:
        yield running


@pytest.fixture(scope="module")
def api_schema(service: _ServiceThread) -> schemathesis.BaseSchema:
    """The running service's own OpenAPI document, with a seeded, bounded generation budget."""
    config = SchemathesisConfig.from_dict(
        {
            "seed": 20261129,
            "generation": {"mode": "all", "max-examples": EXAMPLES, "database": "none"},
            # examples and fuzzing, plus coverage: boundary values (huge integers, far dates, wrong types)
            "phases": {"stateful": {"enabled": False}},
            "suppress-health-check": ["all"],
        }
    )
    return schemathesis.openapi.from_url(f"{service.url}/openapi.json", config=config)


@pytest.fixture(scope="module")
def driver_token(service: _ServiceThread) -> str:
    answer = httpx.post(
        f"{service.url}/v1/auth/sign-in", json={"driver_id": "alice", "password": "alice-pw"}, timeout=30
    )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def _token_for(path: str, driver: str) -> str:
    """Each operation gets the credential that lets fuzzed input reach past the permission check."""
    if path.startswith(("/v1/admin", "/v1/revocations")):
        return ADMIN
    if path.startswith(("/v1/audit", "/v1/alerts", "/v1/buildings")):
        return MANAGER_A
    if path == "/v1/auth/sign-out":
        return "not-a-live-token"  # the fuzz must not end the session the other operations use
    return driver


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
def test_no_request_makes_the_service_fail(
    case: schemathesis.Case, service: _ServiceThread, driver_token: str
) -> None:
    headers = {"Authorization": f"Bearer {_token_for(case.path, driver_token)}"}
    response = case.call(base_url=service.url, headers=headers, timeout=30)
    if case.path == "/v1/admin/faults" and case.method == "PUT":
        # Injected faults are 503s by design: switch them off again for the next request.
        httpx.put(f"{service.url}/v1/admin/faults", json={}, headers=headers, timeout=30).raise_for_status()
    label = f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:200]}"
    assert response.status_code < 500, label
    if response.status_code >= 400 and response.status_code != 413:
        assert response.headers.get("content-type") == [PROBLEM], label
