"""Admin endpoint the building adds to the access service app: door faults toggled at run time.

    GET /v1/admin/doors/{door_id}/faults   -> {"door_id": ..., "faults": {name: value, ...}}
    PUT /v1/admin/doors/{door_id}/faults   body {name: value, ...} (a partial update), same answer

The service owns service faults (`PUT /v1/admin/faults`); doors live in the building process, so
the orchestrator mounts this router next to the service's routes. It uses the service's admin
token check and problem+json error handling, so both admin APIs behave the same.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Body
from pydantic import BaseModel

from mock_building.door.errors import DoorError
from mock_building.door.faults import DoorFaults
from mock_building.service.auth import check_admin
from mock_building.service.context import Bearer, ServiceDep
from mock_building.service.problems import ServiceProblem
from protocol.api import API_PREFIX
from protocol.reasons import ReasonCode

__all__ = ["DoorFaultsAnswer", "door_admin_router"]


class DoorFaultsAnswer(BaseModel):
    door_id: str
    faults: dict[str, bool | int]


def door_admin_router(doors: Mapping[str, DoorFaults]) -> APIRouter:
    router = APIRouter(prefix=f"{API_PREFIX}/admin/doors", tags=["admin"])

    def door(door_id: str, service: ServiceDep, token: str) -> DoorFaults:
        check_admin(token, service.config.admin_token)
        if door_id not in doors:
            raise ServiceProblem(
                ReasonCode.NOT_FOUND, "No such door", f"no door {door_id!r} in this building"
            )
        return doors[door_id]

    def answer(door_id: str) -> DoorFaultsAnswer:
        return DoorFaultsAnswer(door_id=door_id, faults=dataclasses.asdict(doors[door_id].settings))

    @router.get("/{door_id}/faults", summary="A door's fault settings")
    async def get_faults(door_id: str, service: ServiceDep, token: Bearer) -> DoorFaultsAnswer:
        door(door_id, service, token)
        return answer(door_id)

    @router.put("/{door_id}/faults", summary="Change some of a door's faults at run time")
    async def put_faults(
        door_id: str, changes: Annotated[dict[str, Any], Body()], service: ServiceDep, token: Bearer
    ) -> DoorFaultsAnswer:
        switches = door(door_id, service, token)
        try:
            switches.set(**changes)
        except DoorError as err:
            raise ServiceProblem(ReasonCode.INVALID_REQUEST, "Bad door fault", str(err)) from err
        return answer(door_id)

    return router
