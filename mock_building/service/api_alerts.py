"""Building endpoints: the manager's alerts (with acknowledgement) and the PII-free tenant view."""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query

from mock_building.service.auth import check_manager
from mock_building.service.context import Bearer, ServiceDep
from mock_building.service.tenant_view import tenant_entries
from protocol.api_building import Alert, AlertAcknowledgement, AlertState, TenantEntry

__all__ = ["router"]

router = APIRouter(tags=["building"])

AlertId = Annotated[int, Path(ge=1, le=2**62)]


@router.get("/alerts", response_model=list[Alert])
async def alerts_feed(
    service: ServiceDep,
    token: Bearer,
    building_id: str,
    state: AlertState | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[Alert]:
    """A building's alerts for its manager (or the admin), newest first, time-driven ones up to date."""
    await check_manager(service.database, token, building_id, service.config.admin_token)
    await service.alerts.sweep(service.clock.now())
    return await service.alerts.feed(building_id, state=state, limit=limit)


@router.post("/alerts/{alert_id}/acknowledgement", response_model=Alert)
async def acknowledge_alert(
    alert_id: AlertId, body: AlertAcknowledgement, service: ServiceDep, token: Bearer
) -> Alert:
    """The building's manager (or the admin) marks an alert seen; it stays in the feed as acknowledged."""
    building_id = await service.alerts.building_of(alert_id)
    await check_manager(service.database, token, building_id, service.config.admin_token)
    by = "admin" if hmac.compare_digest(token.encode(), service.config.admin_token.encode()) else "manager"
    return await service.alerts.acknowledge(alert_id, by=by, note=body.note, now=service.clock.now())


@router.get("/buildings/{building_id}/entries", response_model=list[TenantEntry])
async def building_entries(
    building_id: str,
    service: ServiceDep,
    token: Bearer,
    since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[TenantEntry]:
    """Tenant view: which carrier came to which door when, each receipt with its verification status.

    Served with the manager token (the manager shares it with tenants): it names no driver at all.
    """
    await check_manager(service.database, token, building_id, service.config.admin_token)
    await service.alerts.sweep(service.clock.now())
    return await tenant_entries(service.database, building_id, since=since, limit=limit)
