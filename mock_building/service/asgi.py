"""The service's ASGI layer: the app class with its direct routes, and the fault and body-limit middleware.

A direct route is the busiest kind of request (a grant, at every stop of every driver) answered
without FastAPI's layers, which cost about as much as the grant's own work: middleware, routing,
dependency solving. It is still declared on its router, so it is documented and served there too
(under a root path, say); here it gets what the layers give every route: the injected faults, the
body limit, and the registered exception handlers' answers.

The body limit is the service's own (not FastAPI's, whose refusal of a declared length is plain
text): a declared Content-Length over it is refused before any byte is read, a chunked body as
soon as it passes the limit, both as problem+json `request_too_large`.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from types import MappingProxyType

from fastapi import FastAPI, Request, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mock_building.service.faults import FaultInjector
from mock_building.service.problems import problem_response
from protocol.api import API_PREFIX
from protocol.reasons import ReasonCode

__all__ = ["AccessService", "BodyLimitMiddleware", "DirectRoute", "FaultMiddleware"]

DirectRoute = Callable[[Request], Awaitable[Response]]
_ADMIN_PREFIX = f"{API_PREFIX}/admin/"
_TOO_LARGE = "Content Too Large"


class AccessService(FastAPI):
    """The access service's app, with the routes `serve_directly` names answered without its layers."""

    _direct_routes: Mapping[tuple[str, str], DirectRoute] = MappingProxyType({})

    def serve_directly(
        self, routes: Mapping[tuple[str, str], DirectRoute], *, faults: FaultInjector, max_body_bytes: int
    ) -> None:
        """Serve `routes` ((method, path) -> route) behind the same fault injection and body limit."""
        self._direct_routes = MappingProxyType(dict(routes))
        self._direct = FaultMiddleware(BodyLimitMiddleware(self._serve_direct_route, max_body_bytes), faults)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (scope["method"], scope["path"]) in self._direct_routes:
            scope["app"] = self
            await self._direct(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)

    async def _serve_direct_route(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            response = await self._direct_routes[scope["method"], scope["path"]](request)
        except Exception as exc:  # the error boundary: every error gets its registered answer
            response = await self._answer(request, exc)
        await response(scope, receive, send)

    async def _answer(self, request: Request, exc: Exception) -> Response:
        """What the exception handler registered for `exc`'s nearest class answers (Exception: a bug)."""
        handler = next(self.exception_handlers[c] for c in type(exc).__mro__ if c in self.exception_handlers)
        answer = handler(request, exc)
        response: Response = await answer if inspect.isawaitable(answer) else answer
        return response


class BodyLimitMiddleware:
    """Refuses a request body over `limit` bytes with 413 `request_too_large`."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self._app = app
        self._limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
        elif _declared_length(scope) > self._limit:
            await _too_large(scope["path"])(scope, receive, send)
        else:
            await self._app(scope, _limited(receive, self._limit), send)


def _declared_length(scope: Scope) -> int:
    declared = dict(scope["headers"]).get(b"content-length", b"")
    return int(declared) if declared.isdigit() else 0


def _too_large(path: str) -> Response:
    return problem_response(ReasonCode.REQUEST_TOO_LARGE, _TOO_LARGE, instance=path, status=413)


def _limited(receive: Receive, limit: int) -> Receive:
    """`receive`, raising a 413 once the body received passes `limit` bytes."""
    received = 0

    async def receive_within_limit() -> Message:
        nonlocal received
        message = await receive()
        received += len(message.get("body", b""))
        if received > limit:
            raise StarletteHTTPException(413, _TOO_LARGE)
        return message

    return receive_within_limit


async def injected_fault(faults: FaultInjector, path: str) -> Response | None:
    """The injected latency, then the injected 503 if this request draws one; admin is exempt."""
    if path.startswith(_ADMIN_PREFIX):
        return None
    if not await faults.draw():
        return None
    return problem_response(
        ReasonCode.SERVICE_UNAVAILABLE,
        "Service unavailable",
        "injected fault: try again shortly",
        instance=path,
        headers={"Retry-After": "1"},
    )


class FaultMiddleware:
    """Plain ASGI (not BaseHTTPMiddleware, which costs a task group per request)."""

    def __init__(self, app: ASGIApp, faults: FaultInjector) -> None:
        self._app = app
        self._faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            response = await injected_fault(self._faults, scope["path"])
            if response is not None:
                await response(scope, receive, send)
                return
        await self._app(scope, receive, send)
