"""HTTP endpoints used by the driver app (prefix /v1), on the protocol's models."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from mock_building.service.auth import TokenPair, bearer_token
from mock_building.service.context import CurrentDriver, OptionalBearer, Service, ServiceDep
from mock_building.service.itinerary import today_route
from mock_building.service.problems import ServiceProblem
from protocol.api import (
    Delivery,
    DeliveryConfirmation,
    GrantRequest,
    GrantResponse,
    HandheldKeyRegistration,
    HandheldKeyResponse,
    ReceiptGap,
    ReceiptResult,
    ReceiptStatus,
    ReceiptUpload,
    ReceiptUploadResponse,
    RefreshRequest,
    Route,
    SignInRequest,
    SignOutRequest,
    TokenResponse,
    b64url_decode,
    b64url_encode,
)
from protocol.reasons import ReasonCode

__all__ = ["GRANT_MODELS", "request_grant", "router"]

router = APIRouter(tags=["driver"])


_IDEMPOTENCY_KEY = re.compile(r'^"?([A-Za-z0-9._:-]{1,128})"?$')
_GRANT_OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/GrantRequest"}}},
    },
    "parameters": [
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "schema": {"type": "string", "pattern": _IDEMPOTENCY_KEY.pattern},
            "description": "one per scan attempt: a retry with the same key and body gets the same grant back",
        }
    ],
    "security": [{"HTTPBearer": []}],
}
GRANT_MODELS = (GrantRequest,)
"""Models the grant route reads itself, so the app adds them to the OpenAPI components."""


# First of the routes: they are matched in order, and this is the busiest.
@router.post(
    "/grants",
    response_model=GrantResponse,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": GrantResponse, "description": "the grant issued earlier under this Idempotency-Key"}
    },
    openapi_extra=_GRANT_OPENAPI,
)
async def request_grant(request: Request) -> Response:
    """The security gate: a short-lived door grant for a scanned package at its stop."""
    # The busiest route reads its own request (documented through `openapi_extra`), and the app
    # serves it directly (service/asgi.py): FastAPI's layers cost about as much as the grant itself.
    service: Service = request.app.state.service
    # Read before a pooled connection is taken: a client that sends its body slowly holds none.
    raw = await request.body()
    async with service.database.lease():  # one pooled connection for the whole grant
        return await _grant(request, service, raw)


async def _grant(request: Request, service: Service, raw: bytes) -> Response:
    now = service.clock.now()  # one instant for the whole request
    driver = await service.sessions.authenticate(bearer_token(request.headers.get("authorization")), now)
    try:
        body = GrantRequest.model_validate_json(raw)
    except ValidationError as err:
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in err.errors(include_url=False)]
        ) from None
    grant, issued = await service.gate.request(
        driver,
        stop_id=body.stop_id,
        door_id=body.door_id,
        barcode=body.barcode,
        handheld_key_id=b64url_encode(body.handheld_key_id),
        now=now,
        idempotency_key=_idempotency_key(request.headers.get("idempotency-key")),
    )
    desk = request.app.state.upkeep  # sealed for the door; its pending upkeep rides along (SPEC 14, 15)
    token = grant.token if desk is None else desk.seal_grant(grant.door_id, grant.token)
    upkeep = None if desk is None else await desk.pending(grant.door_id, now)
    answer = GrantResponse(
        grant=token,
        grant_id=grant.grant_id,
        door_id=grant.door_id,
        expires_at=grant.expires_at,
        upkeep=upkeep,
    )
    return Response(
        answer.model_dump_json(),
        status_code=status.HTTP_201_CREATED if issued else status.HTTP_200_OK,
        media_type="application/json",
    )


def _idempotency_key(header: str | None) -> str | None:
    """The header's key without the quotes a client may send, or an invalid_request problem."""
    if header is None:
        return None
    match = _IDEMPOTENCY_KEY.fullmatch(header)
    if match is None:
        raise RequestValidationError(
            [
                {
                    "loc": ("header", "Idempotency-Key"),
                    "msg": f"should match pattern '{_IDEMPOTENCY_KEY.pattern}'",
                }
            ]
        )
    return match.group(1)


def _tokens(pair: TokenPair) -> TokenResponse:
    return TokenResponse(
        access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in
    )


@router.post("/auth/sign-in", response_model=TokenResponse)
async def sign_in(body: SignInRequest, service: ServiceDep, request: Request) -> TokenResponse:
    """Driver id + password -> a short-lived access token and a single-use refresh token.

    Failed attempts are throttled per account and per client address (429 `rate_limited`, then
    `account_locked`, both with Retry-After and the time the wait ends).
    """
    client = request.client.host if request.client else "unknown"
    return _tokens(
        await service.sessions.sign_in(body.driver_id, body.password, service.clock.now(), client=client)
    )


@router.post("/auth/refresh", response_model=TokenResponse)
async def refresh(body: RefreshRequest, service: ServiceDep) -> TokenResponse:
    """Trade a refresh token for a new pair; reusing a spent one ends the whole sign-in (`refresh_token_reused`)."""
    return _tokens(await service.sessions.refresh(body.refresh_token, service.clock.now()))


@router.post("/auth/sign-out", status_code=status.HTTP_204_NO_CONTENT)
async def sign_out(
    token: OptionalBearer, service: ServiceDep, body: SignOutRequest | None = None
) -> Response:
    """End this sign-in: its access and refresh tokens, and every token refreshed from them (idempotent).

    Send the access token (Bearer), the refresh token (body), or both: a handheld that kept only its
    refresh token (restarted, the access token was in memory) signs out without refreshing first.
    """
    refresh_token = body.refresh_token if body else None
    if token is None and refresh_token is None:
        raise ServiceProblem(
            ReasonCode.NOT_AUTHENTICATED,
            "Not signed in",
            "send the access token (Bearer) or the refresh token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    await service.sessions.sign_out(token, service.clock.now(), refresh_token=refresh_token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/handheld-keys", response_model=HandheldKeyResponse, status_code=status.HTTP_201_CREATED)
async def register_handheld(
    body: HandheldKeyRegistration, driver: CurrentDriver, service: ServiceDep
) -> HandheldKeyResponse:
    """Register the handheld's Ed25519 public key (idempotent); grants are bound to it (cnf)."""
    key_id = await service.handhelds.register(driver.driver_id, body.public_key, service.clock.now())
    return HandheldKeyResponse(key_id=b64url_decode(key_id))


@router.get("/routes/today", response_model=Route)
async def route_today(driver: CurrentDriver, service: ServiceDep) -> Route:
    """The driver's stops for today in delivery order, with packages, doors and windows."""
    async with service.database.lease():  # one pooled connection for the route's statements
        return await today_route(service.database, driver.driver_id, service.clock.now(), service.config.zone)


@router.post("/receipts", response_model=ReceiptUploadResponse)
async def upload_receipts(
    body: ReceiptUpload, driver: CurrentDriver, service: ServiceDep
) -> ReceiptUploadResponse:
    """Door receipts relayed by the app: verified, chained, stored; duplicates are fine; gaps reported."""
    report = await service.receipts.upload(
        list(body.receipts), service.clock.now(), relayed_by=driver.driver_id
    )
    return ReceiptUploadResponse(
        results=tuple(
            ReceiptResult(
                index=r.index,
                status=ReceiptStatus(r.status),
                reason=r.reason.slug,
                door_id=r.door_id,
                seq=r.seq,
            )
            for r in report.results
        ),
        gaps=tuple(
            ReceiptGap(door_id=door_id, first_seq=first, last_seq=last)
            for door_id, ranges in report.gaps.items()
            for first, last in ranges
        ),
    )


@router.post(
    "/deliveries",
    response_model=Delivery,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {
            "model": Delivery,
            "description": "the same delivery id was already recorded (idempotent replay)",
        }
    },
)
async def confirm_delivery(
    body: DeliveryConfirmation, driver: CurrentDriver, service: ServiceDep, response: Response
) -> Delivery:
    """Record a delivery; idempotent on the client-generated delivery id."""
    delivery, created = await service.deliveries.confirm(driver, body, service.clock.now())
    if not created:
        response.status_code = status.HTTP_200_OK
    return delivery
