"""HTTP surface: problem+json everywhere, the OpenAPI document, injected faults."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from mock_building.scenario.loader import parse_scenario
from mock_building.service import app_for_scenario, faults
from mock_building.service.asgi import AccessService
from mock_building.service.clock import FakeClock
from tests.service_support import (
    NOON,
    SCENARIO_TOML,
    admin,
    client_for,
    make_app,
    service_client,
    sign_in,
    two_workers,
)

pytestmark = pytest.mark.usefixtures("service_backend")

PROBLEM_KEYS = {"type", "title", "status", "code"}


async def test_problem_json_shape_for_every_kind_of_error():
    async with service_client(FakeClock(NOON)) as client:
        answers = {
            "unknown_path": await client.get("/v1/nope"),
            "bad_json": await client.post(
                "/v1/auth/sign-in", content=b"{not json", headers={"content-type": "application/json"}
            ),
            "unknown_field": await client.post(
                "/v1/auth/sign-in", json={"driver_id": "a", "password": "b", "x": 1}
            ),
            "no_token": await client.get("/v1/routes/today"),
            "wrong_method": await client.delete("/v1/grants"),
        }
    expected = {
        "unknown_path": (404, "not_found"),
        "bad_json": (400, "invalid_request"),
        "unknown_field": (400, "invalid_request"),
        "no_token": (401, "not_authenticated"),
        "wrong_method": (405, "invalid_request"),
    }
    for name, answer in answers.items():
        assert answer.headers["content-type"] == "application/problem+json", name
        body = answer.json()
        assert set(body) >= PROBLEM_KEYS, name
        assert (answer.status_code, body["code"]) == expected[name], name
        assert body["status"] == answer.status_code and body["type"].endswith(body["code"])
    assert "x" in answers["unknown_field"].json()["detail"]


@asynccontextmanager
async def grant_client(
    served: str, **overrides: Any
) -> AsyncIterator[tuple[AccessService, httpx.AsyncClient]]:
    """The service with POST /v1/grants served directly (the default) or through FastAPI's layers."""
    app = await make_app(FakeClock(NOON), **overrides)
    if served == "framework":
        app.serve_directly({}, faults=app.state.service.faults, max_body_bytes=65536)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)  # like a real server
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield app, client
    finally:
        await app.state.service.database.close()


@pytest.mark.parametrize("served", ["direct", "framework"])
async def test_the_grant_route_refuses_a_bad_request_as_every_route_does(served):
    """Served directly or through FastAPI: the same problem shape, naming the field."""
    async with grant_client(served) as (_, client):
        alice = await sign_in(client, "alice", "alice-pw")
        good = {"stop_id": "S1", "door_id": "A-N", "barcode": "BC-1", "handheld_key_id": alice.key_id}
        answers = {
            "bad_json": await client.post("/v1/grants", content=b"{not json", headers=alice.headers),
            "unknown_field": await client.post("/v1/grants", json=good | {"x": 1}, headers=alice.headers),
            "missing_field": await client.post(
                "/v1/grants", json={k: v for k, v in good.items() if k != "barcode"}, headers=alice.headers
            ),
            "bad_door": await client.post(
                "/v1/grants", json=good | {"door_id": "a b"}, headers=alice.headers
            ),
            "bad_key": await client.post(
                "/v1/grants", json=good, headers=alice.headers | {"Idempotency-Key": "x" * 129}
            ),
            "no_token": await client.post("/v1/grants", json=good),
            "too_large": await client.post(
                "/v1/grants", json=good | {"barcode": "x" * 70_000}, headers=alice.headers
            ),
        }
        granted = await client.post("/v1/grants", json=good, headers=alice.headers)
    expected = {"no_token": (401, "not_authenticated"), "too_large": (413, "request_too_large")}
    for name, answer in answers.items():
        body = answer.json()
        assert answer.headers["content-type"] == "application/problem+json", name
        assert set(body) >= PROBLEM_KEYS and body["instance"] == "/v1/grants", name
        assert (answer.status_code, body["code"]) == expected.get(name, (400, "invalid_request")), name
    assert answers["unknown_field"].json()["detail"].startswith("body.x:")
    assert answers["missing_field"].json()["detail"].startswith("body.barcode:")
    assert answers["bad_door"].json()["detail"].startswith("body.door_id:")
    assert answers["bad_key"].json()["detail"].startswith("header.Idempotency-Key:")
    assert granted.status_code == 201 and granted.headers["content-type"] == "application/json"
    assert set(granted.json()) == {"grant", "grant_id", "door_id", "expires_at", "upkeep"}


@pytest.mark.parametrize("served", ["direct", "framework"])
async def test_the_grant_route_has_the_faults_and_the_error_boundary_of_every_route(served, monkeypatch):
    async with grant_client(served) as (app, client):
        alice = await sign_in(client, "alice", "alice-pw")
        good = {"stop_id": "S1", "door_id": "A-N", "barcode": "BC-1", "handheld_key_id": alice.key_id}
        await client.put("/v1/admin/faults", json={"down": True}, headers=admin())
        down = await client.post("/v1/grants", json=good, headers=alice.headers)
        await client.put("/v1/admin/faults", json={"down": False}, headers=admin())

        async def explode(*args: object, **kwargs: object) -> None:
            raise RuntimeError("secret internals")

        monkeypatch.setattr(app.state.service.gate, "request", explode)
        bug = await client.post("/v1/grants", json=good, headers=alice.headers)
    assert (down.status_code, down.json()["code"], down.headers["retry-after"]) == (
        503,
        "service_unavailable",
        "1",
    )
    assert (bug.status_code, bug.json()["code"]) == (500, "internal_error") and "secret" not in bug.text


async def test_unexpected_errors_become_internal_error_problems(monkeypatch):
    app = await make_app(FakeClock(NOON))

    def explode(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(app.state.service.sessions, "refresh", explode)
    # ASGITransport re-raises server errors by default; ask it not to, like a real server.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as raw:
        answer = await raw.post("/v1/auth/refresh", json={"refresh_token": "x"})
    assert answer.status_code == 500
    assert answer.json()["code"] == "internal_error" and "secret" not in answer.text


async def test_openapi_document_describes_the_api():
    async with service_client(FakeClock(NOON)) as client:
        doc = (await client.get("/openapi.json")).json()
    paths = doc["paths"]
    for path in (
        "/v1/auth/sign-in",
        "/v1/auth/refresh",
        "/v1/handheld-keys",
        "/v1/routes/today",
        "/v1/grants",
        "/v1/receipts",
        "/v1/deliveries",
        "/v1/audit",
        "/v1/revocations",
        "/v1/admin/faults",
    ):
        assert path in paths, path
    grant = paths["/v1/grants"]["post"]
    assert grant["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/GrantRequest")
    assert set(doc["components"]["schemas"]["GrantRequest"]["required"]) == {
        "stop_id", "door_id", "barcode", "handheld_key_id"
    }  # fmt: skip
    assert [p["name"] for p in grant["parameters"]] == ["Idempotency-Key"]
    assert grant["security"] == [{"HTTPBearer": []}]
    assert "application/problem+json" in grant["responses"]["4XX"]["content"]
    assert "Problem" in doc["components"]["schemas"]
    assert "HTTPBearer" in doc["components"]["securitySchemes"]


async def test_faults_at_run_time():
    app = await make_app(FakeClock(NOON))
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    app.state.service.faults.sleep = fake_sleep
    async with client_for(app) as client:
        alice = await sign_in(client, "alice", "alice-pw")
        assert (
            await client.put("/v1/admin/faults", json={"down": True}, headers=alice.headers)
        ).status_code == 403

        put = await client.put("/v1/admin/faults", json={"down": True}, headers=admin())
        assert put.json() == {"latency_ms": 0, "error_rate": 0.0, "down": True}
        down = await client.get("/v1/routes/today", headers=alice.headers)
        assert down.status_code == 503 and down.json()["code"] == "service_unavailable"
        assert (
            down.headers["content-type"] == "application/problem+json" and down.headers["retry-after"] == "1"
        )
        assert (await client.get("/v1/admin/faults", headers=admin())).json()[
            "down"
        ] is True  # admin still works

        await client.put("/v1/admin/faults", json={"error_rate": 0.5, "latency_ms": 250}, headers=admin())
        answers = [
            (await client.get("/v1/routes/today", headers=alice.headers)).status_code for _ in range(40)
        ]
        assert set(answers) == {200, 503}
        assert slept == [0.25] * 40

        await client.put("/v1/admin/faults", json={}, headers=admin())
        assert (await client.get("/v1/routes/today", headers=alice.headers)).status_code == 200
        bad = await client.put("/v1/admin/faults", json={"error_rate": 2}, headers=admin())
        assert bad.status_code == 400 and bad.json()["code"] == "invalid_request"


async def _status_until(client: httpx.AsyncClient, path: str, headers: dict[str, str], status: int) -> int:
    """Ask until the answer has `status` (a worker re-reads the faults at most every REFRESH_S)."""
    deadline = asyncio.get_running_loop().time() + 10
    while (answer := (await client.get(path, headers=headers)).status_code) != status:
        if asyncio.get_running_loop().time() > deadline:
            return answer
        await asyncio.sleep(faults.REFRESH_S / 5)
    return answer


async def test_faults_set_through_one_worker_reach_every_worker(tmp_path):
    """Two services on one database, as two workers: faults live in the database, not a worker."""
    path = tmp_path / "shared.sqlite3"
    async with two_workers(FakeClock(NOON), path) as (_, _, one, other):
        alice = await sign_in(one, "alice", "alice-pw")
        await other.get("/v1/routes/today", headers=alice.headers)  # the second has read the faults
        put = await one.put("/v1/admin/faults", json={"down": True}, headers=admin())
        assert put.status_code == 200
        assert (await one.get("/v1/routes/today", headers=alice.headers)).status_code == 503  # at once
        assert (await other.get("/v1/admin/faults", headers=admin())).json()["down"] is True
        assert await _status_until(other, "/v1/routes/today", alice.headers, 503) == 503
        await other.put("/v1/admin/faults", json={}, headers=admin())
        assert await _status_until(one, "/v1/routes/today", alice.headers, 200) == 200


async def test_faults_from_the_scenario_at_start():
    text = SCENARIO_TOML.replace("[service]\n", "[service]\nfaults = { down = true }\n")
    app = await app_for_scenario(parse_scenario(text), clock=FakeClock(NOON), password_cost=2**10)
    async with client_for(app) as client:
        answer = await client.post("/v1/auth/sign-in", json={"driver_id": "alice", "password": "alice-pw"})
    assert answer.status_code == 503 and answer.json()["code"] == "service_unavailable"
