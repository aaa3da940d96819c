"""Mock-only endpoint that tells a QA runner what each stop of a driver's route should end as.

    GET /v1/dev/expectations/<driver_id>  -> {"driver_id": ..., "stops": {"<stop_id>": ["delivered", ...]}}

The outcomes are the scenario's `expect` of each package of the stop ("delivered" when absent).
A real building has no such thing, and the driver API's Route carries no QA data; serving this
over HTTP, as the labels are, keeps `driver-app run-route` from importing `mock_building`.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from mock_building.scenario.loader import Scenario
from protocol.api import API_PREFIX

__all__ = ["StopExpectations", "dev_expectations_router"]

DELIVERED = "delivered"


class StopExpectations(BaseModel):
    driver_id: str
    stops: dict[str, list[str]]
    """Stop id → the outcomes an attempt at that stop may end in (sorted)."""
    packages: dict[str, str]
    """Package id → the outcome expected for it (the QA runner checks each one)."""


def dev_expectations_router(scenario: Scenario) -> APIRouter:
    router = APIRouter(prefix=f"{API_PREFIX}/dev/expectations", tags=["dev (mock building only)"])

    @router.get("/{driver_id}", summary="What each stop of a driver's route should end as (QA runner)")
    async def expectations(driver_id: str) -> StopExpectations:
        # An unknown driver gets no stops rather than 404: a 404 means "no such endpoint" (a real building).
        stops = {
            stop.id: sorted({package.expect or DELIVERED for package in stop.packages})
            for route in scenario.routes
            if route.driver == driver_id
            for stop in route.stops
        }
        packages = {
            package.id: package.expect or DELIVERED
            for route in scenario.routes
            if route.driver == driver_id
            for stop in route.stops
            for package in stop.packages
        }
        return StopExpectations(driver_id=driver_id, stops=stops, packages=packages)

    return router
