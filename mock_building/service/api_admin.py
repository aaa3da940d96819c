"""Admin and building-manager endpoints: service faults, revocations, the audit feed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from mock_building.service.auth import check_admin, check_manager
from mock_building.service.context import Bearer, ServiceDep
from protocol.api import AuditEvent, RevocationRequest, b64url_encode

__all__ = ["DriverRevocation", "ServiceFaults", "router"]

router = APIRouter(tags=["admin"])


class ServiceFaults(BaseModel):
    """Injected service faults (PUT replaces all of them; an omitted field means "no fault").

    `down` answers every non-admin request with 503 `service_unavailable` (the socket stays open
    so this endpoint can switch it back off).
    """

    model_config = ConfigDict(extra="forbid")

    latency_ms: Annotated[int, Field(ge=0, le=60_000)] = 0
    error_rate: Annotated[float, Field(ge=0.0, le=1.0)] = 0.0
    down: bool = False


class DriverRevocation(BaseModel):
    """POST /v1/admin/drivers/{driver_id}/revocation (not in protocol.api: an admin-only call)."""

    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, Field(min_length=1, max_length=200)]


@router.get("/admin/faults", response_model=ServiceFaults)
async def get_faults(service: ServiceDep, token: Bearer) -> ServiceFaults:
    check_admin(token, service.config.admin_token)
    return ServiceFaults(**(await service.faults.current(fresh=True)).model_dump())


@router.put("/admin/faults", response_model=ServiceFaults)
async def put_faults(body: ServiceFaults, service: ServiceDep, token: Bearer) -> ServiceFaults:
    check_admin(token, service.config.admin_token)
    return ServiceFaults(**(await service.faults.update(**body.model_dump())).model_dump())


@router.post("/revocations", status_code=status.HTTP_204_NO_CONTENT)
async def revoke(body: RevocationRequest, service: ServiceDep, token: Bearer) -> Response:
    """Revoke a grant or a handheld key (admin)."""
    check_admin(token, service.config.admin_token)
    now = service.clock.now()
    if body.grant_id is not None:
        await service.revocations.grant(body.grant_id.hex(), body.reason, now)
    elif body.handheld_key_id is not None:
        await service.revocations.handheld(b64url_encode(body.handheld_key_id), body.reason, now)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/admin/drivers/{driver_id}/revocation", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_driver(
    driver_id: str, body: DriverRevocation, service: ServiceDep, token: Bearer
) -> Response:
    """Revoke a driver: every session ends and sign-in is refused with `revoked`."""
    check_admin(token, service.config.admin_token)
    await service.revocations.driver(driver_id, body.reason, service.clock.now())
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/audit", response_model=list[AuditEvent])
async def audit_feed(
    service: ServiceDep,
    token: Bearer,
    response: Response,
    building_id: str,
    after: Annotated[
        int, Query(ge=0, le=2**63 - 1, description="cursor: the X-Audit-Cursor of the previous page")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditEvent]:
    """A building's door events for its manager (or the admin), oldest first, paged by cursor."""
    await check_manager(service.database, token, building_id, service.config.admin_token)
    page = await service.audit.building_feed(building_id, after_id=after, limit=limit)
    response.headers["X-Audit-Cursor"] = str(page[-1][0] if page else after)
    return [event for _, event in page]
