"""Bad input never crashes the service: random JSON bodies and random receipt bytes get 4xx answers."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mock_building.service.clock import FakeClock
from tests.service_support import NOON, client_for, make_app

pytestmark = pytest.mark.usefixtures("service_backend")

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
grant_like = st.fixed_dictionaries(
    {},
    optional={
        "stop_id": st.text(max_size=40) | json_values,
        "door_id": st.text(max_size=12) | json_values,
        "barcode": st.text(max_size=140) | json_values,
        "handheld_key_id": st.text(
            alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=", max_size=20
        ),
    },
)


class SyncClient:
    """Each call runs on a fresh event loop, so hypothesis can drive the ASGI app from a plain test."""

    def __init__(self) -> None:
        self.runner = asyncio.Runner()  # one loop for every call: a database pool belongs to its loop
        self.app = self.runner.run(make_app(FakeClock(NOON), grant_rate_limit=10**6))
        tokens = self.post("/v1/auth/sign-in", json={"driver_id": "alice", "password": "alice-pw"}).json()
        self.headers = {"Authorization": f"Bearer {tokens['access_token']}"}

    def post(self, path: str, json: object) -> httpx.Response:
        async def call() -> httpx.Response:
            async with client_for(self.app) as client:
                return await client.post(path, json=json, headers=getattr(self, "headers", {}))

        return self.runner.run(call())


@pytest.fixture
def client() -> Iterator[SyncClient]:
    client = SyncClient()
    yield client
    client.runner.run(client.app.state.service.database.close())
    client.runner.close()


SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(
    path=st.sampled_from(
        ["/v1/grants", "/v1/deliveries", "/v1/handheld-keys", "/v1/receipts", "/v1/auth/refresh"]
    ),
    body=json_values | grant_like,
)
def test_random_bodies_get_problem_answers(client, path, body):
    answer = client.post(path, json=body)
    assert 400 <= answer.status_code < 500, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"]


@SETTINGS
@given(blobs=st.lists(st.binary(max_size=300), min_size=1, max_size=5))
def test_random_receipt_bytes_are_rejected_not_crashed(client, blobs):
    encoded = [base64.urlsafe_b64encode(b).rstrip(b"=").decode() for b in blobs]
    answer = client.post("/v1/receipts", json={"receipts": encoded})
    assert answer.status_code == 200, answer.text
    assert [r["status"] for r in answer.json()["results"]] == ["rejected"] * len(blobs)
