"""Door upkeep over HTTP: phones fetch what to relay; the admin queues time, carrier and key changes.

    GET    /v1/doors/{door_id}/upkeep                         (driver)  -> DoorUpkeep
    POST   /v1/admin/doors/{door_id}/time                     (admin)   -> DoorUpkeep
    PUT    /v1/admin/buildings/{building_id}/carriers/{id}    (admin)   -> 204  accept a carrier
    DELETE /v1/admin/buildings/{building_id}/carriers/{id}    (admin)   -> 204  drop a carrier
    POST   /v1/admin/carriers/{carrier_id}/key-rotation       (admin)   -> 204
    POST   /v1/admin/buildings/{building_id}/revocation-epoch (admin)   -> 204  revoke all grants so far

Revocations need no endpoint of their own: `POST /v1/revocations` marks them and the next fetch
for a door turns them into statements.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status

from mock_building.service.auth import check_admin
from mock_building.service.context import Bearer, CurrentDriver, ServiceDep
from mock_building.service.problems import ServiceProblem
from mock_building.service.upkeep import UpkeepDesk
from protocol.api import DoorUpkeep
from protocol.reasons import ReasonCode

__all__ = ["UpkeepDep", "router"]

router = APIRouter(tags=["upkeep"])


async def _desk(request: Request) -> UpkeepDesk:
    desk: UpkeepDesk | None = getattr(request.app.state, "upkeep", None)
    if desk is None:
        raise ServiceProblem(
            ReasonCode.NOT_FOUND, "No door upkeep here", "this service has no maintenance keys"
        )
    return desk


UpkeepDep = Annotated[UpkeepDesk, Depends(_desk)]


@router.get("/doors/{door_id}/upkeep", response_model=DoorUpkeep)
async def door_upkeep(
    door_id: str, driver: CurrentDriver, service: ServiceDep, desk: UpkeepDep
) -> DoorUpkeep:
    """What any phone should relay to the door on its next connection (SPEC section 14)."""
    return await desk.pending(door_id, service.clock.now())


@router.post("/admin/doors/{door_id}/time", response_model=DoorUpkeep)
async def set_time(door_id: str, service: ServiceDep, token: Bearer, desk: UpkeepDep) -> DoorUpkeep:
    """Queue a signed time statement; phones carry it, signed with the service clock when fetched."""
    check_admin(token, service.config.admin_token)
    await desk.set_time(door_id, service.clock.now())
    return await desk.pending(door_id, service.clock.now())


@router.put("/admin/buildings/{building_id}/carriers/{carrier_id}", status_code=status.HTTP_204_NO_CONTENT)
async def accept_carrier(
    building_id: str, carrier_id: str, service: ServiceDep, token: Bearer, desk: UpkeepDep
) -> Response:
    check_admin(token, service.config.admin_token)
    await desk.accept_carrier(building_id, carrier_id, service.clock.now())
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete("/admin/buildings/{building_id}/carriers/{carrier_id}", status_code=status.HTTP_204_NO_CONTENT)
async def drop_carrier(
    building_id: str, carrier_id: str, service: ServiceDep, token: Bearer, desk: UpkeepDep
) -> Response:
    check_admin(token, service.config.admin_token)
    await desk.drop_carrier(building_id, carrier_id, service.clock.now())
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/admin/buildings/{building_id}/revocation-epoch", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_before(building_id: str, service: ServiceDep, token: Bearer, desk: UpkeepDep) -> Response:
    """Every grant issued until now stops opening the building's doors (e.g. after a key leak)."""
    check_admin(token, service.config.admin_token)
    await desk.revoke_before(building_id, service.clock.now())
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/admin/carriers/{carrier_id}/key-rotation", status_code=status.HTTP_204_NO_CONTENT)
async def rotate_key(carrier_id: str, service: ServiceDep, token: Bearer, desk: UpkeepDep) -> Response:
    check_admin(token, service.config.admin_token)
    await desk.rotate_key(carrier_id, service.clock.now())
    return Response(status_code=status.HTTP_204_NO_CONTENT)
