"""The httpx access client: token refresh, problem+json translation, transport failures.

These run httpx for real against a scripted in-process handler (httpx.MockTransport); the
end-to-end tests against the mock building's FastAPI app live beside the service's tests.
"""

from __future__ import annotations

import json

import httpx
import pytest

from driver_app.adapters.access_http import HttpAccessClient
from driver_app.core.errors import AccessRefused, ServiceUnreachable, WorkflowError
from protocol.api import Problem, b64url_encode
from protocol.reasons import ReasonCode
from tests.core_fakes import FakeClock, demo_route


class Server:
    """Just enough of the service: sign-in, refresh with rotation, an authed route endpoint."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.issued = 0
        self.valid_access: set[str] = set()
        self.valid_refresh: set[str] = set()
        self.route_answer: httpx.Response | None = None

    def tokens(self) -> httpx.Response:
        self.issued += 1
        access, refresh = f"a{self.issued}", f"r{self.issued}"
        self.valid_access = {access}
        self.valid_refresh = {refresh}
        return httpx.Response(200, json={"access_token": access, "refresh_token": refresh, "expires_in": 60})

    def problem(self, reason: ReasonCode) -> httpx.Response:
        doc = Problem.of(reason, "refused", "details here")
        return httpx.Response(
            doc.status, content=doc.model_dump_json(), headers={"content-type": "application/problem+json"}
        )

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if path == "/v1/auth/sign-in":
            body = json.loads(request.content)
            return self.tokens() if body["password"] == "pw" else self.problem(ReasonCode.INVALID_CREDENTIALS)
        if path == "/v1/auth/refresh":
            token = json.loads(request.content)["refresh_token"]
            return (
                self.tokens() if token in self.valid_refresh else self.problem(ReasonCode.NOT_AUTHENTICATED)
            )
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
        if bearer not in self.valid_access:
            return self.problem(ReasonCode.TOKEN_EXPIRED)
        if path == "/v1/routes/today":
            return self.route_answer or httpx.Response(200, content=demo_route().model_dump_json())
        if path == "/v1/handheld-keys":
            key = json.loads(request.content)["public_key"]
            return httpx.Response(201, json={"key_id": key[:11]})
        return httpx.Response(404)


@pytest.fixture
def server() -> Server:
    return Server()


@pytest.fixture
async def client(server: Server):
    clock = FakeClock()
    seen: list[str] = []
    client = HttpAccessClient(
        "http://service.test/",
        clock=clock,
        transport=httpx.MockTransport(server),
        on_tokens=lambda t: seen.append(t.refresh_token),
    )
    client.clock, client.seen = clock, seen  # type: ignore[attr-defined]
    yield client
    await client.aclose()


async def test_sign_in_then_authed_calls_carry_the_bearer_token(
    client: HttpAccessClient, server: Server
) -> None:
    tokens = await client.sign_in("demo", "pw")
    assert tokens.refresh_token == "r1" and client.seen == ["r1"]  # type: ignore[attr-defined]
    route = await client.today_route()
    assert route == demo_route()
    assert server.requests[-1].headers["authorization"] == "Bearer a1"


async def test_register_handheld_sends_base64url_and_returns_key_id_bytes(
    client: HttpAccessClient, server: Server
) -> None:
    await client.sign_in("demo", "pw")
    key_id = await client.register_handheld(bytes(range(32)))
    sent = json.loads(server.requests[-1].content)
    assert sent == {"public_key": b64url_encode(bytes(range(32)))}
    assert isinstance(key_id, bytes) and key_id


async def test_an_expiring_access_token_is_refreshed_before_use(
    client: HttpAccessClient, server: Server
) -> None:
    await client.sign_in("demo", "pw")
    client.clock.advance(55)  # type: ignore[attr-defined]  # within the refresh margin of 60 s
    await client.today_route()
    paths = [r.url.path for r in server.requests]
    assert paths == ["/v1/auth/sign-in", "/v1/auth/refresh", "/v1/routes/today"]
    assert client.seen == ["r1", "r2"]  # type: ignore[attr-defined]  # the rotated token is handed on


async def test_a_token_the_service_expired_early_is_refreshed_once_and_retried(
    client: HttpAccessClient, server: Server
) -> None:
    await client.sign_in("demo", "pw")
    server.valid_access = set()  # e.g. the service restarted
    route = await client.today_route()
    assert route.route_id == "r1"
    assert [r.url.path for r in server.requests][-3:] == [
        "/v1/routes/today",
        "/v1/auth/refresh",
        "/v1/routes/today",
    ]


async def test_problem_json_becomes_access_refused_with_its_code(
    client: HttpAccessClient, server: Server
) -> None:
    with pytest.raises(AccessRefused) as caught:
        await client.sign_in("demo", "wrong")
    assert caught.value.reason == "invalid_credentials" and not caught.value.retryable
    assert "details here" in str(caught.value)


async def test_calls_before_sign_in_are_refused_without_a_request(
    client: HttpAccessClient, server: Server
) -> None:
    with pytest.raises(AccessRefused) as caught:
        await client.today_route()
    assert caught.value.reason == "not_authenticated" and server.requests == []


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (
            httpx.Response(503, json=Problem.of(ReasonCode.SERVICE_UNAVAILABLE, "down").model_dump()),
            "service_unavailable",
        ),
        (httpx.Response(502, text="<html>bad gateway</html>"), "service_unavailable"),
    ],
)
async def test_5xx_is_unreachable_and_retryable(
    client: HttpAccessClient, server: Server, answer: httpx.Response, reason: str
) -> None:
    await client.sign_in("demo", "pw")
    server.route_answer = answer
    with pytest.raises(ServiceUnreachable) as caught:
        await client.today_route()
    assert caught.value.reason == reason and caught.value.retryable


async def test_rate_limiting_is_a_retryable_refusal(client: HttpAccessClient, server: Server) -> None:
    await client.sign_in("demo", "pw")
    server.route_answer = server.problem(ReasonCode.RATE_LIMITED)
    with pytest.raises(AccessRefused) as caught:
        await client.today_route()
    assert caught.value.reason == "rate_limited" and caught.value.retryable


async def test_an_unreadable_success_is_bad_response_not_a_crash(
    client: HttpAccessClient, server: Server
) -> None:
    await client.sign_in("demo", "pw")
    server.route_answer = httpx.Response(200, json={"route_id": "x"})
    with pytest.raises(WorkflowError) as caught:
        await client.today_route()
    assert caught.value.reason == "bad_response"


@pytest.mark.parametrize("error", [httpx.ConnectError("refused"), httpx.ReadTimeout("slow")])
async def test_transport_failures_are_unreachable(error: Exception) -> None:
    def broken(request: httpx.Request) -> httpx.Response:
        raise error

    client = HttpAccessClient("http://service.test", clock=FakeClock(), transport=httpx.MockTransport(broken))
    with pytest.raises(ServiceUnreachable) as caught:
        await client.sign_in("demo", "pw")
    assert caught.value.retryable and caught.value.reason == "service_unreachable"
    await client.aclose()


async def test_a_closed_port_on_loopback_is_unreachable() -> None:
    """A real connection attempt: nothing listens on port 9 of loopback here."""
    client = HttpAccessClient("http://127.0.0.1:9", clock=FakeClock(), timeout=2.0)
    with pytest.raises(ServiceUnreachable):
        await client.sign_in("demo", "pw")
    await client.aclose()
