"""RFC 9457 problem details: every refusal of the service is one, with a stable `code`.

The body is protocol's `Problem` and the status its `HTTP_STATUS` for the reason, so the app
and the service agree on both without a second table.
"""

from __future__ import annotations

from fastapi.responses import JSONResponse

from mock_building.errors import MockBuildingError
from protocol.api import PROBLEM_MEDIA_TYPE, Problem
from protocol.reasons import ReasonCode

__all__ = ["ServiceProblem", "problem_response"]


class ServiceProblem(MockBuildingError):
    """A request the service refuses; the app renders it as problem+json."""

    def __init__(
        self,
        code: ReasonCode,
        title: str,
        detail: str | None = None,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.reason = code.slug
        self.code = code
        self.title = title
        self.detail = detail
        self.headers = headers or {}

    @property
    def status(self) -> int:
        return Problem.of(self.code, self.title).status


def problem_response(
    code: ReasonCode,
    title: str,
    detail: str | None = None,
    *,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    status: int | None = None,
) -> JSONResponse:
    """`status` overrides the reason's usual one (e.g. 405 from the router is still `invalid_request`)."""
    problem = Problem.of(code, title, detail, instance)
    if status is not None:
        problem = problem.model_copy(update={"status": status})
    return JSONResponse(
        problem.model_dump(mode="json", exclude_none=True),
        status_code=problem.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )
