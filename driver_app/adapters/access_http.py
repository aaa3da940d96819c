"""The access service over HTTP (httpx), implementing the core's `AccessClient` port.

Tokens stay inside this adapter: the access token is refreshed shortly before it expires and once
more if the service still answers `token_expired`. Refresh tokens rotate on every use, so each new
pair is handed to `on_tokens` (the factory persists it in the credential store). Errors are
translated here: problem+json → `AccessRefused` with the problem's `code`; connection failures,
timeouts and 5xx → `ServiceUnreachable` (retryable); an unreadable answer → `bad_response`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import httpx
from protocol.api import (
    API_PREFIX,
    Delivery,
    DeliveryConfirmation,
    GrantRequest,
    GrantResponse,
    HandheldKeyRegistration,
    HandheldKeyResponse,
    Problem,
    ReceiptUpload,
    ReceiptUploadResponse,
    RefreshRequest,
    Route,
    SignInRequest,
    TokenResponse,
)
from pydantic import BaseModel, ValidationError

from driver_app.core.errors import AccessRefused, ClientReason, ServiceUnreachable, WorkflowError
from driver_app.core.ports import Clock

M = TypeVar("M", bound=BaseModel)

#: Refresh this many seconds before the access token's announced expiry.
REFRESH_MARGIN = 10.0


def _ignore_tokens(_: TokenResponse) -> None:
    return None


class HttpAccessClient:
    def __init__(
        self,
        base_url: str,
        *,
        clock: Clock,
        timeout: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
        on_tokens: Callable[[TokenResponse], None] = _ignore_tokens,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + API_PREFIX, timeout=timeout, transport=transport
        )
        self._clock = clock
        self._on_tokens = on_tokens
        self._access: str | None = None
        self._refresh: str | None = None
        self._access_until = 0.0

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- the port --------------------------------------------------------------------------------

    async def sign_in(self, driver_id: str, password: str) -> TokenResponse:
        body = SignInRequest(driver_id=driver_id, password=password)
        return self._adopt(await self._call("POST", "/auth/sign-in", body, TokenResponse, auth=False))

    async def resume(self, refresh_token: str) -> TokenResponse:
        body = RefreshRequest(refresh_token=refresh_token)
        return self._adopt(await self._call("POST", "/auth/refresh", body, TokenResponse, auth=False))

    async def register_handheld(self, public_key: bytes) -> bytes:
        body = HandheldKeyRegistration(public_key=public_key)
        answer = await self._authed("POST", "/handheld-keys", body, HandheldKeyResponse)
        return answer.key_id

    async def today_route(self) -> Route:
        return await self._authed("GET", "/routes/today", None, Route)

    async def request_grant(self, request: GrantRequest) -> GrantResponse:
        return await self._authed("POST", "/grants", request, GrantResponse)

    async def upload_receipts(self, receipts: Sequence[bytes]) -> ReceiptUploadResponse:
        body = ReceiptUpload(receipts=tuple(receipts))
        return await self._authed("POST", "/receipts", body, ReceiptUploadResponse)

    async def confirm_delivery(self, confirmation: DeliveryConfirmation) -> Delivery:
        return await self._authed("POST", "/deliveries", confirmation, Delivery)

    # -- tokens ----------------------------------------------------------------------------------

    def _adopt(self, tokens: TokenResponse) -> TokenResponse:
        self._access, self._refresh = tokens.access_token, tokens.refresh_token
        self._access_until = self._clock.monotonic() + tokens.expires_in - REFRESH_MARGIN
        self._on_tokens(tokens)
        return tokens

    async def _refresh_tokens(self) -> None:
        if self._refresh is None:
            raise AccessRefused("not_authenticated", "sign in first")
        await self.resume(self._refresh)

    async def _authed(self, method: str, path: str, body: BaseModel | None, model: type[M]) -> M:
        if self._access is None:
            raise AccessRefused("not_authenticated", "sign in first")
        if self._clock.monotonic() >= self._access_until:
            await self._refresh_tokens()
        try:
            return await self._call(method, path, body, model, auth=True)
        except AccessRefused as refusal:
            if refusal.reason != "token_expired":
                raise
        await self._refresh_tokens()
        return await self._call(method, path, body, model, auth=True)

    # -- HTTP ------------------------------------------------------------------------------------

    async def _call(
        self, method: str, path: str, body: BaseModel | None, model: type[M], *, auth: bool
    ) -> M:
        headers = {"Authorization": f"Bearer {self._access}"} if auth else {}
        payload = None if body is None else body.model_dump(mode="json")
        try:
            response = await self._http.request(method, path, json=payload, headers=headers)
        except httpx.TimeoutException as err:
            raise ServiceUnreachable(f"{method} {path}: timed out") from err
        except httpx.TransportError as err:
            raise ServiceUnreachable(f"{method} {path}: {err!r}") from err
        if response.is_success:
            try:
                return model.model_validate_json(response.content)
            except ValidationError as err:
                raise WorkflowError(ClientReason.BAD_RESPONSE, f"{method} {path}: {err}") from err
        raise _refusal(response)


def _refusal(response: httpx.Response) -> WorkflowError:
    """The error for a non-2xx answer, keyed by the problem document's stable `code`."""
    try:
        problem = Problem.model_validate_json(response.content)
        code, detail = problem.code, problem.detail or problem.title
    except ValidationError:
        code, detail = "", f"HTTP {response.status_code} without a problem document"
    if response.status_code >= 500:
        return ServiceUnreachable(detail, reason=code or "service_unavailable")
    if response.status_code == 429:
        return AccessRefused(code or "rate_limited", detail, retryable=True)
    return AccessRefused(code or ClientReason.BAD_RESPONSE, detail)
