"""The access service over HTTP (httpx), implementing the core's `AccessClient` port.

Tokens stay inside this adapter: the access token is refreshed shortly before it expires and once
more if the service still answers `token_expired`. Refresh tokens rotate on every use, so each new
pair is handed to `on_tokens` (the factory persists it in the credential store). Errors are
translated here: problem+json → `AccessRefused` with the problem's `code`; connection failures,
timeouts and 5xx → `ServiceUnreachable` (retryable); a certificate that does not verify →
`InsecureConnection` naming the host (not retried: it is not bad coverage); an unreadable answer →
`bad_response`. A `Retry-After` (seconds or an HTTP date, RFC 9110 §10.2.3) on a 429 or 5xx
rides along as the error's `retry_after`.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Sequence
from email.utils import parsedate_to_datetime
from typing import TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from driver_app.core.errors import (
    AccessRefused,
    ClientReason,
    InsecureConnection,
    ServiceUnreachable,
    WorkflowError,
)
from driver_app.core.ports import Clock
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
    SignOutRequest,
    TokenResponse,
)

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

    async def request_grant(
        self, request: GrantRequest, *, idempotency_key: str | None = None
    ) -> GrantResponse:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        return await self._authed("POST", "/grants", request, GrantResponse, headers=headers)

    async def sign_out(self, refresh_token: str | None = None) -> None:
        """End the session at the service (by the access token held, or the stored refresh token)."""
        refresh_token = refresh_token or self._refresh
        body = SignOutRequest(refresh_token=refresh_token) if refresh_token else None
        try:
            if self._access is not None or body is not None:
                await self._send("POST", "/auth/sign-out", body, auth=self._access is not None)
        finally:
            self._access = self._refresh = None
            self._access_until = 0.0

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

    async def _authed(
        self,
        method: str,
        path: str,
        body: BaseModel | None,
        model: type[M],
        *,
        headers: dict[str, str] | None = None,
    ) -> M:
        if self._access is None:
            raise AccessRefused("not_authenticated", "sign in first")
        if self._clock.monotonic() >= self._access_until:
            await self._refresh_tokens()
        try:
            return await self._call(method, path, body, model, auth=True, headers=headers)
        except AccessRefused as refusal:
            if refusal.reason != "token_expired":
                raise
        await self._refresh_tokens()
        return await self._call(method, path, body, model, auth=True, headers=headers)

    # -- HTTP ------------------------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        body: BaseModel | None,
        model: type[M],
        *,
        auth: bool,
        headers: dict[str, str] | None = None,
    ) -> M:
        response = await self._send(method, path, body, auth=auth, headers=headers)
        try:
            return model.model_validate_json(response.content)
        except ValidationError as err:
            raise WorkflowError(ClientReason.BAD_RESPONSE, f"{method} {path}: {err}") from err

    async def _send(
        self,
        method: str,
        path: str,
        body: BaseModel | None,
        *,
        auth: bool,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """The 2xx answer to one request; anything else raised as the matching `WorkflowError`."""
        headers = dict(headers or {})
        if auth:
            headers["Authorization"] = f"Bearer {self._access}"
        payload = None if body is None else body.model_dump(mode="json")
        try:
            response = await self._http.request(method, path, json=payload, headers=headers)
        except httpx.TimeoutException as err:
            raise ServiceUnreachable(f"{method} {path}: timed out") from err
        except httpx.TransportError as err:
            failed = _certificate_failure(err)
            if failed is not None:
                raise InsecureConnection(self._http.base_url.host, failed) from err
            raise ServiceUnreachable(f"{method} {path}: {err!r}") from err
        if not response.is_success:
            raise _refusal(response, self._clock.now())
        return response


def _certificate_failure(err: Exception) -> str | None:
    """The TLS verification message somewhere in `err`'s chain, if that is why the call failed."""
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return seen.verify_message or str(seen)
        if isinstance(seen, ssl.SSLError):
            return seen.reason or str(seen)
        seen = seen.__cause__ or seen.__context__
    return None


def retry_after(response: httpx.Response, now: float) -> float | None:
    """Seconds the service asked to wait (RFC 9110 §10.2.3: delay-seconds or an HTTP-date), if any."""
    value = response.headers.get("Retry-After", "").strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - now) if when.tzinfo is not None else None


def _refusal(response: httpx.Response, now: float) -> WorkflowError:
    """The error for a non-2xx answer, keyed by the problem document's stable `code`."""
    try:
        problem = Problem.model_validate_json(response.content)
        code, detail = problem.code, problem.detail or problem.title
    except ValidationError:
        code, detail = "", f"HTTP {response.status_code} without a problem document"
    wait = retry_after(response, now)
    if response.status_code >= 500:
        return ServiceUnreachable(detail, reason=code or "service_unavailable", retry_after=wait)
    if response.status_code == 429:
        # A locked account is not retried by itself: the driver is told when the lock ends.
        reason = code or "rate_limited"
        return AccessRefused(reason, detail, retryable=reason == "rate_limited", retry_after=wait)
    if response.status_code == 413 and not code:
        code = "request_too_large"  # the server's own limit answers before the app, in plain text
    return AccessRefused(code or ClientReason.BAD_RESPONSE, detail)
