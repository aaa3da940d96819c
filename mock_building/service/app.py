"""The access service as an ASGI app: `create_app` wires the parts; `app_for_scenario` seeds a DB first.

Error shape: every non-2xx answer is RFC 9457 `application/problem+json` with a stable `code`,
including validation errors (`invalid_request`), unknown paths (`not_found`), injected faults
(`service_unavailable`) and bugs (`internal_error`, no traceback leaked).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from mock_building.errors import DatabaseUnavailable
from mock_building.scenario.loader import Scenario, ServiceFaultSettings
from mock_building.service.alerts import AlertBook
from mock_building.service.api_admin import router as admin_router
from mock_building.service.api_alerts import router as alerts_router
from mock_building.service.api_driver import GRANT_MODELS, request_grant
from mock_building.service.api_driver import router as driver_router
from mock_building.service.api_upkeep import router as upkeep_router
from mock_building.service.asgi import AccessService, BodyLimitMiddleware, FaultMiddleware
from mock_building.service.audit import AuditLog
from mock_building.service.auth import Sessions
from mock_building.service.chores import Chore, Chores
from mock_building.service.clock import Clock
from mock_building.service.context import Service, ServiceConfig
from mock_building.service.deliveries import Deliveries
from mock_building.service.faults import FaultInjector
from mock_building.service.gate import GrantGate
from mock_building.service.handhelds import Handhelds
from mock_building.service.passwords import DEFAULT_COST
from mock_building.service.problems import ServiceProblem, problem_response
from mock_building.service.receipts import ReceiptIngest
from mock_building.service.revocations import Revocations
from mock_building.service.route_days import RouteDays
from mock_building.service.seed import seed_database
from mock_building.service.signers import CarrierSigner, CarrierSigners
from mock_building.service.storage import DEFAULT_POOL_SIZE, MEMORY, Database, open_database
from mock_building.service.storage.faults import store_faults
from mock_building.service.throttle import SignInThrottle
from mock_building.service.upkeep import UpkeepDesk, UpkeepKeys
from protocol.api import API_PREFIX, PROBLEM_MEDIA_TYPE, Problem
from protocol.reasons import ReasonCode

__all__ = ["app_for_scenario", "create_app", "signers_for"]

_log = logging.getLogger(__name__)
_CLIENT_CLOSED_REQUEST = 499  # nginx's status for it; never sent, the client is gone
_OUTAGE_RETRY_AFTER_S = 2
_OUTAGE_LOG_EVERY_S = 10.0
_PROBLEM_RESPONSES: dict[int | str, dict[str, object]] = {
    "4XX": {"model": Problem, "content": {PROBLEM_MEDIA_TYPE: {}}, "description": "refused (problem+json)"},
    "5XX": {
        "model": Problem,
        "content": {PROBLEM_MEDIA_TYPE: {}},
        "description": "unavailable (problem+json)",
    },
}


def signers_for(scenario: Scenario) -> dict[str, CarrierSigner]:
    return {c.id: CarrierSigner(c.id, c.key_id, c.private_key) for c in scenario.carriers}


def create_app(
    database: Database,
    signers: Mapping[str, CarrierSigner],
    config: ServiceConfig,
    *,
    clock: Clock,
    faults: ServiceFaultSettings | None = None,
    upkeep_keys: UpkeepKeys | None = None,
    chores: Mapping[str, Chore] | None = None,
) -> AccessService:
    """An access service over an opened, seeded `database`; `clock` is the only source of time.

    With `upkeep_keys` it also queues signed maintenance statements for phones to carry to doors.
    While it is served, it does its own chores (`chores.py`), `chores` first.
    """
    carrier_signers = CarrierSigners(signers)  # shared by the gate and the upkeep desk (key rotation)
    audit = AuditLog(database, config.audit_secret)
    revocations = Revocations(database, audit)
    alerts = AlertBook(
        database, audit, gap_after_s=config.gap_alert_after_s, grant_margin_s=config.grant_receipt_margin_s
    )
    service = Service(
        config=config,
        clock=clock,
        database=database,
        sessions=Sessions(
            database,
            SignInThrottle(database, account=config.account_throttle, client=config.client_throttle),
            access_ttl_s=config.access_ttl_s,
            refresh_ttl_s=config.refresh_ttl_s,
        ),
        handhelds=Handhelds(database, revocations, max_live=config.max_handheld_keys),
        gate=GrantGate(
            database,
            audit,
            carrier_signers,
            zone=config.zone,
            rate_limit=config.grant_rate_limit,
            rate_window_s=config.grant_rate_window_s,
            lifetime_s=config.grant_lifetime_s,
        ),
        receipts=ReceiptIngest(database, audit, alerts),
        deliveries=Deliveries(database, audit, alerts, zone=config.zone),
        revocations=revocations,
        audit=audit,
        alerts=alerts,
        faults=FaultInjector.create(database, faults, seed=config.fault_seed),
    )
    app = AccessService(
        title="LobbyKey access service (mock building)",
        version="1",
        description="Grants, receipts, deliveries and audit for LobbyKey. Errors are RFC 9457 problem+json.",
        # The service sets up no OpenTelemetry provider: FastAPI's check for one costs ~10 µs a request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        lifespan=Chores(
            {
                **(chores or {}),
                "forget spent idempotency keys": lambda: service.gate.forget_spent_requests(clock.now()),
            }
        ).kept,
    )
    app.state.service = service
    app.serve_directly(
        {("POST", f"{API_PREFIX}/grants"): request_grant},
        faults=service.faults,
        max_body_bytes=config.max_body_bytes,
    )
    app.state.upkeep = None if upkeep_keys is None else UpkeepDesk(database, upkeep_keys, carrier_signers)
    app.include_router(driver_router, prefix=API_PREFIX, responses=_PROBLEM_RESPONSES)
    app.include_router(admin_router, prefix=API_PREFIX, responses=_PROBLEM_RESPONSES)
    app.include_router(alerts_router, prefix=API_PREFIX, responses=_PROBLEM_RESPONSES)
    app.include_router(upkeep_router, prefix=API_PREFIX, responses=_PROBLEM_RESPONSES)
    _install_error_handlers(app)
    _document_models(app, GRANT_MODELS)
    app.add_middleware(BodyLimitMiddleware, limit=config.max_body_bytes)
    app.add_middleware(FaultMiddleware, faults=service.faults)  # added last: the outer one
    return app


def _document_models(app: FastAPI, models: tuple[type[BaseModel], ...]) -> None:
    """Add to the OpenAPI components the models that routes read themselves (FastAPI sees only parameters)."""
    describe = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = describe()  # FastAPI keeps it in app.openapi_schema: extended once
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        for model in models:
            schemas[model.__name__] = model.model_json_schema(ref_template="#/components/schemas/{model}")
        return document

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to extend the document


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ServiceProblem)
    async def _problem(request: Request, exc: ServiceProblem) -> Response:
        return problem_response(
            exc.code, exc.title, exc.detail, instance=request.url.path, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        where = "; ".join(
            f"{'.'.join(str(part) for part in error.get('loc', ()))}: {error.get('msg', 'invalid')}"
            for error in exc.errors()[:5]
        )
        return problem_response(
            ReasonCode.INVALID_REQUEST, "Invalid request", where, instance=request.url.path
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: ReasonCode.NOT_FOUND, 413: ReasonCode.REQUEST_TOO_LARGE}.get(
            exc.status_code, ReasonCode.INVALID_REQUEST
        )
        return problem_response(code, str(exc.detail), instance=request.url.path, status=exc.status_code)

    outages = _OutageLog()

    @app.exception_handler(DatabaseUnavailable)
    async def _unavailable(request: Request, exc: DatabaseUnavailable) -> Response:
        outages.note(exc)
        return problem_response(
            ReasonCode.SERVICE_UNAVAILABLE,
            "Service unavailable",
            "the database cannot be reached: try again shortly",
            instance=request.url.path,
            headers={"Retry-After": str(_OUTAGE_RETRY_AFTER_S)},
        )

    @app.exception_handler(ClientDisconnect)
    async def _gone(request: Request, exc: ClientDisconnect) -> Response:
        # The client hung up before its request was read: nothing to answer, nothing went wrong here
        # (debug: a client can hang up as often as it likes).
        _log.debug("client left before its request was read: %s %s", request.method, request.url.path)
        return Response(status_code=_CLIENT_CLOSED_REQUEST)

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> Response:
        _log.exception("unhandled error on %s", request.url.path)
        return problem_response(ReasonCode.INTERNAL_ERROR, "Internal error", instance=request.url.path)


class _OutageLog:
    """One warning per `_OUTAGE_LOG_EVERY_S` while the database is away, not a traceback per request."""

    def __init__(self) -> None:
        self._logged_at = -math.inf
        self._turned_away = 0

    def note(self, exc: DatabaseUnavailable) -> None:
        self._turned_away += 1
        now = time.monotonic()
        if now - self._logged_at >= _OUTAGE_LOG_EVERY_S:
            _log.warning("database unavailable, %d request(s) answered 503: %s", self._turned_away, exc)
            self._logged_at, self._turned_away = now, 0


async def app_for_scenario(
    scenario: Scenario,
    *,
    clock: Clock,
    today: date | None = None,
    database: str | Path = MEMORY,
    pool_size: int = DEFAULT_POOL_SIZE,
    seed: bool = True,
    password_cost: int = DEFAULT_COST,
    **overrides: Any,  # checked by `replace`: an unknown or mistyped field fails at start-up
) -> AccessService:
    """Open (and migrate) the database, seed the scenario for `today` (default: the clock's local day), serve it.

    `database` is a SQLite path (or memory) or a `postgresql://` URL (holding `pool_size` connections
    at most); `seed=False` for worker processes started after one process seeded. `overrides` are
    ServiceConfig fields (e.g. grant_rate_limit=5).
    """
    db = await open_database(database, pool_size=pool_size)
    config = replace(
        ServiceConfig(
            admin_token=scenario.admin_token, audit_secret=scenario.service_secret, timezone=scenario.timezone
        ),
        **overrides,
    )
    seeded = None
    if seed:
        seeded = today or clock.now().astimezone(config.zone).date()
        await seed_database(db, scenario, seeded, password_cost=password_cost)
        faults = scenario.service_faults  # the scenario's, at every start: a restart heals run-time faults
        await store_faults(db, faults.latency_ms, faults.error_rate, faults.down)
    keys = UpkeepKeys(
        scenario.upkeep_key,
        {b.id: scenario.owner_key(b.id) for b in scenario.buildings},
        {d.id: scenario.door_seal_key(d.id) for d in scenario.doors},
    )
    # A key rotated before a restart (or by another worker) is loaded from the database on first use.
    days = RouteDays(db, scenario, clock, config.zone, seeded=seeded)  # a service outlives its first day
    return create_app(
        db,
        signers_for(scenario),
        config,
        clock=clock,
        faults=scenario.service_faults,
        upkeep_keys=keys,
        chores={"seed the new day's routes": days.catch_up},
    )
