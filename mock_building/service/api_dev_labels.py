"""Mock-only endpoints that hand the building's rendered parcel labels to a QA runner.

    GET /v1/dev/labels                   -> {"labels": ["<package_id>.png", ...]}
    GET /v1/dev/labels/<package_id>.png  -> the PNG

A real building has no such thing: labels come on parcels. The mock building renders its
scenario's labels into `<data-dir>/labels` at start and, in demo mode only (`mock-building up
--mode demo`, the default), serves them here, so `driver-app run-route` needs no `--labels` folder
and never imports `mock_building`. Both calls need a driver's access token and cover only the
parcels of that driver's route today: a label carries an address, a unit and a barcode.
Only files of the listing are served (a name is looked up, never joined into a path).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from pydantic import BaseModel

from mock_building.scenario.labels import write_labels
from mock_building.scenario.loader import Scenario
from mock_building.service.auth import DriverIdentity
from mock_building.service.context import CurrentDriver, Service, ServiceDep
from mock_building.service.gate import today_route_id
from mock_building.service.problems import ServiceProblem
from protocol.api import API_PREFIX
from protocol.reasons import ReasonCode

__all__ = ["LABELS_DIR_NAME", "LabelListing", "dev_labels_router", "render_scenario_labels"]

LABELS_DIR_NAME = "labels"


class LabelListing(BaseModel):
    labels: list[str]


def render_scenario_labels(scenario: Scenario, data_dir: Path) -> dict[str, Path]:
    """Render every package's label into `data_dir/labels` (about 10 ms a label); name -> path."""
    return {path.name: path for path in write_labels(scenario, data_dir / LABELS_DIR_NAME)}


def _own_labels(labels: dict[str, Path], driver: DriverIdentity, service: Service) -> dict[str, Path]:
    """The labels of the parcels on this driver's route today, and no one else's."""
    route_id = today_route_id(driver.driver_id, service.clock.now(), service.config.zone)
    rows = service.store.conn.execute("SELECT id FROM packages WHERE route_id = ?", (route_id,))
    own = {f"{row[0]}.png" for row in rows}
    return {name: path for name, path in labels.items() if name in own}


def dev_labels_router(labels: dict[str, Path]) -> APIRouter:
    router = APIRouter(prefix=f"{API_PREFIX}/dev/labels", tags=["dev (mock building only)"])

    @router.get("", summary="Names of the label images of the signed-in driver's parcels today")
    async def list_labels(driver: CurrentDriver, service: ServiceDep) -> LabelListing:
        return LabelListing(labels=sorted(_own_labels(labels, driver, service)))

    @router.get("/{name}", summary="One of the driver's parcel label images (PNG)", response_class=FileResponse)
    async def get_label(name: str, driver: CurrentDriver, service: ServiceDep) -> FileResponse:
        path = _own_labels(labels, driver, service).get(name)
        if path is None:
            raise ServiceProblem(ReasonCode.NOT_FOUND, "No such label", f"no label {name!r} on your route today")
        return FileResponse(path, media_type="image/png")

    return router
