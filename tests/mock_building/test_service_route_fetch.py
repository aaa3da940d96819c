"""GET /v1/routes/today reads a route in a few statements however long it is, and loses nothing.

A route used to be read stop by stop and building by building: two routes' worth of statements for
a 2-stop route, 81 for 40 stops over 20 buildings, each a round trip on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from mock_building.scenario.loader import parse_scenario
from mock_building.service import app_for_scenario
from mock_building.service.clock import FakeClock
from tests.service_support import client_for, sign_in

NOON = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _scenario(stops: int, buildings: int) -> str:
    """One driver, `stops` stops round-robin over `buildings` buildings of two doors; stop s has
    s % 3 + 1 parcels (listed out of id order), and every fourth stop from the second a window."""
    lines = ["version = 1", 'seed = "route-fetch"', "[[carriers]]", 'id = "c1"', 'name = "C1"']
    for b in range(buildings):
        lines += ["[[buildings]]", f'id = "b{b}"', f'name = "Building {b}"', f'address = "{b} Main St"']
        lines += ['accepted_carriers = ["c1"]']
        for door in ("S", "N"):
            lines += ["[[doors]]", f'id = "b{b}-{door}"', f'building = "b{b}"', f'name = "Door {door}"']
    lines += ["[[drivers]]", 'id = "alice"', 'name = "Alice"', 'password = "alice-pw"', 'carrier = "c1"']
    lines += ["[[routes]]", 'driver = "alice"']
    for s in range(stops):
        parcels = ", ".join(f'{{ id = "p{s}-{9 - n}", barcode = "BC-{s}-{n}" }}' for n in range(s % 3 + 1))
        lines += [
            "[[routes.stops]]",
            f'id = "s{s}"',
            f'building = "b{s % buildings}"',
            f"packages = [{parcels}]",
        ]
        if s % 4 == 1:
            lines += ['window = { start = "08:00", end = "10:00" }']
    return "\n".join(lines)


@contextmanager
def _statements(conn) -> Iterator[list[str]]:
    seen: list[str] = []
    conn.set_trace_callback(seen.append)
    try:
        yield seen
    finally:
        conn.set_trace_callback(None)


async def _route_and_statements(stops: int, buildings: int) -> tuple[dict, int]:
    app = await app_for_scenario(
        parse_scenario(_scenario(stops, buildings)),
        clock=FakeClock(NOON),
        database=":memory:",
        password_cost=2**10,
    )
    database = app.state.service.database
    try:
        async with client_for(app) as client:
            alice = await sign_in(client, "alice", "alice-pw")
            with _statements(database.conn) as seen:
                answer = await client.get("/v1/routes/today", headers=alice.headers)
            assert answer.status_code == 200, answer.text
            return answer.json(), len(seen)
    finally:
        await database.close()


async def test_a_long_route_takes_no_more_statements_than_a_short_one():
    _, short = await _route_and_statements(stops=2, buildings=2)
    _, long = await _route_and_statements(stops=40, buildings=20)
    assert long == short <= 6


async def test_the_route_keeps_every_stop_parcel_door_and_window_in_order():
    route, _ = await _route_and_statements(stops=9, buildings=4)
    assert [s["stop_id"] for s in route["stops"]] == [f"s{s}" for s in range(9)]
    sequences = [s["sequence"] for s in route["stops"]]
    assert sequences == sorted(set(sequences))
    for s, stop in enumerate(route["stops"]):
        assert stop["building"]["building_id"] == f"b{s % 4}"
        assert stop["building"]["name"] == f"Building {s % 4}"
        assert [d["door_id"] for d in stop["building"]["doors"]] == [f"b{s % 4}-N", f"b{s % 4}-S"]
        assert [d["name"] for d in stop["building"]["doors"]] == ["Door N", "Door S"]
        assert [p["barcode"] for p in stop["packages"]] == [f"BC-{s}-{n}" for n in range(s % 3 + 1)]
        assert [p["package_id"] for p in stop["packages"]] == [f"p{s}-{9 - n}" for n in range(s % 3 + 1)]
        windowed = s % 4 == 1
        assert stop["window"]["start"].endswith("T08:00:00Z") == windowed
