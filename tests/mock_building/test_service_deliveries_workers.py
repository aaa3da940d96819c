"""Delivery confirmations served by two workers at once, each with its own connection to one database.

"A parcel is delivered once" and "a stop completes when its last parcel is delivered" must hold
when confirmations race on different workers (on PostgreSQL they really run side by side). Each
test runs a race on every stop of a route at once, so a race the code loses shows up reliably.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from mock_building.scenario.loader import Scenario, parse_scenario
from mock_building.service.alerts import AlertBook
from mock_building.service.audit import AuditLog
from mock_building.service.auth import DriverIdentity
from mock_building.service.deliveries import Deliveries
from mock_building.service.problems import ServiceProblem
from mock_building.service.seed import route_id_for, seed_database
from mock_building.service.storage import Database, open_database, routes
from protocol.api import Delivery, DeliveryConfirmation
from protocol.reasons import ReasonCode
from tests.service_support import NOON, SCENARIO_TOML, database_location

pytestmark = pytest.mark.usefixtures("service_backend")

DAVE = DriverIdentity("dave", "parcelco", "Dave Example")
STOPS = [f"D{n}" for n in range(12)]
# Dave's route: twelve stops in building A, two parcels each.
DAVE_TOML = """
[[drivers]]
id = "dave"
name = "Dave Example"
password = "dave-pw"
carrier = "parcelco"

[[routes]]
driver = "dave"
""" + "".join(
    f"""  [[routes.stops]]
  id = "{stop}"
  building = "A"
  packages = [{{ id = "{stop}-1", barcode = "BC-{stop}-1" }}, {{ id = "{stop}-2", barcode = "BC-{stop}-2" }}]
"""
    for stop in STOPS
)


def scenario() -> Scenario:
    return parse_scenario(SCENARIO_TOML + DAVE_TOML)


@pytest.fixture
async def workers(tmp_path) -> AsyncIterator[tuple[Database, list[Deliveries]]]:
    location = database_location(tmp_path)
    databases = [await open_database(location), await open_database(location)]
    await seed_database(databases[0], scenario(), NOON.date(), password_cost=2**10)

    def worker(database: Database) -> Deliveries:
        audit = AuditLog(database, b"k" * 32)
        alerts = AlertBook(database, audit, gap_after_s=60, grant_margin_s=60)
        return Deliveries(database, audit, alerts, zone=scenario().zone)

    try:
        yield databases[0], [worker(database) for database in databases]
    finally:
        for database in databases:
            await database.close()


def confirmation(stop: str, *parcels: str, delivery_id: uuid.UUID | None = None) -> DeliveryConfirmation:
    return DeliveryConfirmation(
        delivery_id=delivery_id or uuid.uuid4(), stop_id=stop, package_ids=parcels, delivered_at=NOON
    )


Outcome = tuple[Delivery, bool] | BaseException


async def races(
    workers: list[Deliveries], pairs: list[tuple[DeliveryConfirmation, DeliveryConfirmation]]
) -> list[tuple[Outcome, Outcome]]:
    """Every pair at once, its first confirmation on one worker and its second on the other."""
    first, second = workers
    outcomes = await asyncio.gather(
        *(w.confirm(DAVE, r, NOON) for a, b in pairs for w, r in ((first, a), (second, b))),
        return_exceptions=True,
    )
    return list(zip(outcomes[::2], outcomes[1::2], strict=True))


async def test_one_parcel_confirmed_on_two_workers_at_once_is_delivered_once(workers):
    _, deliveries = workers
    pairs = [(confirmation(stop, f"{stop}-1"), confirmation(stop, f"{stop}-1")) for stop in STOPS]
    for pair in await races(deliveries, pairs):
        assert sorted(type(o).__name__ for o in pair) == ["ServiceProblem", "tuple"], pair
        [refused] = [o for o in pair if isinstance(o, ServiceProblem)]
        assert refused.code is ReasonCode.ALREADY_DELIVERED


async def test_a_stops_two_parcels_confirmed_on_two_workers_at_once_complete_it(workers):
    database, deliveries = workers
    pairs = [(confirmation(stop, f"{stop}-1"), confirmation(stop, f"{stop}-2")) for stop in STOPS]
    for pair in await races(deliveries, pairs):
        assert [o[1] if isinstance(o, tuple) else o for o in pair] == [True, True]
    stops = await routes.stops_of(database, route_id_for("dave", NOON.date()))
    assert [s.stop_id for s in stops if s.completed] == STOPS


async def test_one_delivery_id_sent_to_two_workers_at_once_is_recorded_once(workers):
    _, deliveries = workers
    same = [confirmation(stop, f"{stop}-1", f"{stop}-2") for stop in STOPS]
    for first, second in await races(deliveries, [(c, c) for c in same]):
        assert isinstance(first, tuple) and isinstance(second, tuple), (first, second)
        assert sorted([first[1], second[1]]) == [False, True]
        assert first[0] == second[0]
