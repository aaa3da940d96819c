"""`run-route` learns what each package should end as from the building over HTTP, not from its files."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from driver_app.runner.expectations import ExpectationsError, fetch_expectations
from mock_building.building.running import RunningBuilding
from tests.noon_clock import NoonClock


async def test_the_mock_building_serves_each_stops_expected_outcomes(
    building: tuple[RunningBuilding, NoonClock],
) -> None:
    running, _ = building
    packages = [
        p.id for r in running.scenario.routes if r.driver == "demo" for s in r.stops for p in s.packages
    ]
    expectations = await asyncio.to_thread(fetch_expectations, running.url, "demo")
    assert sorted(expectations) == sorted(packages)  # one expectation per package
    assert set(expectations.values()) == {"delivered"}
    assert await asyncio.to_thread(fetch_expectations, running.url, "nobody") == {}


class _Answer(BaseHTTPRequestHandler):
    status = 404
    body = b""

    def do_GET(self) -> None:
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        return None


@pytest.fixture
def other_building() -> Iterator[tuple[str, type[_Answer]]]:
    """A building that is not a mock: a real HTTP server whose answers the test chooses."""
    handler = type("Answer", (_Answer,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


def test_a_building_without_the_endpoint_expects_every_stop_delivered(other_building) -> None:
    url, _ = other_building
    assert fetch_expectations(url, "demo") == {}


def test_a_malformed_answer_is_refused_with_its_reason(other_building) -> None:
    url, handler = other_building
    handler.status, handler.body = 200, b'{"stops": {"S1": "delivered"}}'
    with pytest.raises(ExpectationsError) as caught:
        fetch_expectations(url, "demo")
    assert caught.value.reason == "expectations_malformed"
