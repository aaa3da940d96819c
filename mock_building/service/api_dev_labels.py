"""Mock-only endpoints that hand the building's rendered parcel labels to a QA runner.

    GET /v1/dev/labels                   -> {"labels": ["<package_id>.png", ...]}
    GET /v1/dev/labels/<package_id>.png  -> the PNG

A real building has no such thing: labels come on parcels. The mock building renders its
scenario's labels into `<data-dir>/labels` at start and serves them here, so
`driver-app run-route` needs no `--labels` folder and never imports `mock_building`.
Only files of the listing are served (a name is looked up, never joined into a path).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from pydantic import BaseModel

from mock_building.scenario.labels import write_labels
from mock_building.scenario.loader import Scenario
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


def dev_labels_router(labels: dict[str, Path]) -> APIRouter:
    router = APIRouter(prefix=f"{API_PREFIX}/dev/labels", tags=["dev (mock building only)"])

    @router.get("", summary="Names of the parcel label images this mock building rendered")
    async def list_labels() -> LabelListing:
        return LabelListing(labels=sorted(labels))

    @router.get("/{name}", summary="One parcel label image (PNG)", response_class=FileResponse)
    async def get_label(name: str) -> FileResponse:
        path = labels.get(name)
        if path is None:
            raise ServiceProblem(ReasonCode.NOT_FOUND, "No such label", f"no label {name!r} in this building")
        return FileResponse(path, media_type="image/png")

    return router
