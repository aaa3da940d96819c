"""Mock-only endpoints that hand the building's rendered parcel labels to a QA runner.

    GET /v1/dev/labels                   -> {"labels": ["<package_id>.png", ...]}
    GET /v1/dev/labels/<package_id>.png  -> the PNG

A real building has no such thing: labels come on parcels. The mock building keeps its
scenario's labels in `<data-dir>/labels` (a `LabelShelf`: rendered after start, or on first
request) and, in demo mode only (`mock-building up
--mode demo`, the default), serves them here, so `driver-app run-route` needs no `--labels` folder
and never imports `mock_building`. Both calls need a driver's access token and cover only the
parcels of that driver's route today: a label carries an address, a unit and a barcode.
Only files of the listing are served (a name is looked up, never joined into a path).
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from mock_building.scenario.labels import labels_for, write_label
from mock_building.scenario.loader import Scenario
from mock_building.service.auth import DriverIdentity
from mock_building.service.context import CurrentDriver, Service, ServiceDep
from mock_building.service.gate import today_route_id
from mock_building.service.problems import ServiceProblem
from mock_building.service.storage import routes
from protocol.api import API_PREFIX
from protocol.reasons import ReasonCode

__all__ = ["LABELS_DIR_NAME", "LabelListing", "LabelShelf", "dev_labels_router"]

LABELS_DIR_NAME = "labels"


class LabelListing(BaseModel):
    labels: list[str]


class LabelShelf:
    """A scenario's labels in `<data_dir>/labels`: every name known at once, each image rendered
    when first needed.

    Rendering takes about 10 ms a label, 8 s for a 1,000-door city's, so `up` does not wait for
    it: it empties the folder (a restart may run a changed scenario), fills it in the background
    once ready (`mock-building labels` in a low-priority child process) and `path` renders on the
    spot a label asked for before that. Both write atomically and render the same bytes.
    """

    def __init__(self, scenario: Scenario, data_dir: Path) -> None:
        self.folder = data_dir / LABELS_DIR_NAME
        self._labels = {f"{label.package_id}.png": label for label in labels_for(scenario)}
        self._lock = threading.Lock()

    def clear(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)

    def names(self) -> frozenset[str]:
        return frozenset(self._labels)

    def path(self, name: str) -> Path | None:
        """The label's image file, rendered now if it is not there yet; None for no such label."""
        label = self._labels.get(name)
        if label is None:
            return None
        path = self.folder / name
        with self._lock:  # one request renders a label, a second one for it waits and reuses the file
            return path if path.exists() else write_label(label, self.folder)


async def _own_labels(labels: LabelShelf, driver: DriverIdentity, service: Service) -> frozenset[str]:
    """The names of the labels of the parcels on this driver's route today, and no one else's."""
    route_id = today_route_id(driver.driver_id, service.clock.now(), service.config.zone)
    parcels = await routes.package_ids(service.database, route_id)
    return labels.names() & {f"{package_id}.png" for package_id in parcels}


def dev_labels_router(labels: LabelShelf) -> APIRouter:
    router = APIRouter(prefix=f"{API_PREFIX}/dev/labels", tags=["dev (mock building only)"])

    @router.get("", summary="Names of the label images of the signed-in driver's parcels today")
    async def list_labels(driver: CurrentDriver, service: ServiceDep) -> LabelListing:
        return LabelListing(labels=sorted(await _own_labels(labels, driver, service)))

    @router.get(
        "/{name}", summary="One of the driver's parcel label images (PNG)", response_class=FileResponse
    )
    async def get_label(name: str, driver: CurrentDriver, service: ServiceDep) -> FileResponse:
        own = name in await _own_labels(labels, driver, service)
        path = await run_in_threadpool(labels.path, name) if own else None  # rendering: off the event loop
        if path is None:
            raise ServiceProblem(
                ReasonCode.NOT_FOUND, "No such label", f"no label {name!r} on your route today"
            )
        return FileResponse(path, media_type="image/png")

    return router
