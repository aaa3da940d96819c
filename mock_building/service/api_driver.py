"""HTTP endpoints used by the driver app (prefix /v1), on the protocol's models."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from mock_building.service.auth import TokenPair
from mock_building.service.context import CurrentDriver, ServiceDep
from mock_building.service.itinerary import today_route
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
    TokenResponse,
    b64url_decode,
    b64url_encode,
)

__all__ = ["router"]

router = APIRouter(tags=["driver"])


def _tokens(pair: TokenPair) -> TokenResponse:
    return TokenResponse(access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in)


@router.post("/auth/sign-in", response_model=TokenResponse)
async def sign_in(body: SignInRequest, service: ServiceDep) -> TokenResponse:
    """Driver id + password -> a short-lived access token and a single-use refresh token."""
    return _tokens(await service.sessions.sign_in(body.driver_id, body.password, service.clock.now()))


@router.post("/auth/refresh", response_model=TokenResponse)
async def refresh(body: RefreshRequest, service: ServiceDep) -> TokenResponse:
    """Trade a refresh token for a new pair; the old refresh token stops working."""
    return _tokens(service.sessions.refresh(body.refresh_token, service.clock.now()))


@router.post("/handheld-keys", response_model=HandheldKeyResponse, status_code=status.HTTP_201_CREATED)
async def register_handheld(body: HandheldKeyRegistration, driver: CurrentDriver, service: ServiceDep) -> HandheldKeyResponse:
    """Register the handheld's Ed25519 public key (idempotent); grants are bound to it (cnf)."""
    key_id = service.handhelds.register(driver.driver_id, body.public_key, service.clock.now())
    return HandheldKeyResponse(key_id=b64url_decode(key_id))


@router.get("/routes/today", response_model=Route)
async def route_today(driver: CurrentDriver, service: ServiceDep) -> Route:
    """The driver's stops for today in delivery order, with packages, doors and windows."""
    return today_route(service.store, driver.driver_id, service.clock.now(), service.config.zone)


@router.post("/grants", response_model=GrantResponse, status_code=status.HTTP_201_CREATED)
async def request_grant(body: GrantRequest, driver: CurrentDriver, service: ServiceDep) -> GrantResponse:
    """The security gate: a short-lived door grant for a scanned package at its stop."""
    grant = service.gate.request(
        driver, stop_id=body.stop_id, door_id=body.door_id, barcode=body.barcode,
        handheld_key_id=b64url_encode(body.handheld_key_id), now=service.clock.now(),
    )
    return GrantResponse(grant=grant.token, grant_id=grant.grant_id, door_id=grant.door_id, expires_at=grant.expires_at)


@router.post("/receipts", response_model=ReceiptUploadResponse)
async def upload_receipts(body: ReceiptUpload, driver: CurrentDriver, service: ServiceDep) -> ReceiptUploadResponse:
    """Door receipts relayed by the app: verified, chained, stored; duplicates are fine; gaps reported."""
    report = service.receipts.upload(list(body.receipts), service.clock.now(), relayed_by=driver.driver_id)
    return ReceiptUploadResponse(
        results=tuple(
            ReceiptResult(
                index=r.index, status=ReceiptStatus(r.status), reason=r.reason.slug, door_id=r.door_id, seq=r.seq
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
    "/deliveries", response_model=Delivery, status_code=status.HTTP_201_CREATED,
    responses={200: {"model": Delivery, "description": "the same delivery id was already recorded (idempotent replay)"}},
)
async def confirm_delivery(
    body: DeliveryConfirmation, driver: CurrentDriver, service: ServiceDep, response: Response
) -> Delivery:
    """Record a delivery; idempotent on the client-generated delivery id."""
    delivery, created = service.deliveries.confirm(driver, body, service.clock.now())
    if not created:
        response.status_code = status.HTTP_200_OK
    return delivery
