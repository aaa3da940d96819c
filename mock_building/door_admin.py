"""Admin endpoint the building adds to the access service app: door faults toggled at run time.

    GET /v1/admin/doors/{door_id}/faults   -> {"door_id": ..., "faults": {name: value, ...}}
    PUT /v1/admin/doors/{door_id}/faults   body {name: value, ...} (a partial update), same answer

The service owns service faults (`PUT /v1/admin/faults`); doors live in the building process, so
the orchestrator mounts this router next to the service's routes. Same admin bearer token.
"""

from __future__ import annotations

import dataclasses
import hmac
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header
from fastapi.responses import JSONResponse

from mock_building.door.errors import DoorError
from mock_building.door.faults import DoorFaults
from mock_building.service.problems import problem_response
from protocol.reasons import ReasonCode

__all__ = ["door_admin_router"]


def door_admin_router(doors: Mapping[str, DoorFaults], admin_token: str) -> APIRouter:
    router = APIRouter(prefix="/v1/admin/doors", tags=["admin"])

    def refusal(door_id: str, authorization: str | None) -> JSONResponse | None:
        if authorization is None or not authorization.startswith("Bearer "):
            return problem_response(ReasonCode.NOT_AUTHENTICATED, "Admin token required", headers={"WWW-Authenticate": "Bearer"})
        if not hmac.compare_digest(authorization.removeprefix("Bearer ").encode(), admin_token.encode()):
            return problem_response(ReasonCode.FORBIDDEN, "Not an admin token")
        if door_id not in doors:
            return problem_response(ReasonCode.NOT_FOUND, "No such door", f"no door {door_id!r} in this building")
        return None

    def answer(door_id: str) -> dict[str, Any]:
        return {"door_id": door_id, "faults": dataclasses.asdict(doors[door_id])}

    @router.get("/{door_id}/faults", summary="A door's fault settings")
    async def get_faults(
        door_id: str, authorization: Annotated[str | None, Header()] = None
    ) -> Any:
        return refusal(door_id, authorization) or answer(door_id)

    @router.put("/{door_id}/faults", summary="Change some of a door's faults at run time")
    async def put_faults(
        door_id: str,
        changes: Annotated[dict[str, bool | int], Body()],
        authorization: Annotated[str | None, Header()] = None,
    ) -> Any:
        refused = refusal(door_id, authorization)
        if refused is not None:
            return refused
        try:
            doors[door_id].set(**changes)
        except DoorError as err:
            return problem_response(ReasonCode.INVALID_REQUEST, "Bad door fault", str(err))
        return answer(door_id)

    return router
