"""What each stop of a run may end as: "delivered", or reason codes of injected faults.

A mock building knows what its scenario's faults should cause and says so on the mock-only
`GET /v1/dev/expectations/<driver_id>`, as it hands out labels: the runner asks over HTTP, so it
needs neither the mock building installed nor its scenario file. A building with several doors can
have one faulty and one healthy door, and the scenario does not say which package goes through
which door: each package's expectation must be seen at some door of its stop, and every door the
runner tries must end in one of the stop's expectations. A real building has no such endpoint: every
package expects "delivered".
(The HTTP Route deliberately carries no QA data: it is what production drivers see.)
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from driver_app.core.errors import ServiceUnreachable, WorkflowError
from driver_app.runner.report import DELIVERED
from protocol.api import API_PREFIX

__all__ = ["DELIVERED", "ExpectationsError", "expected_outcome", "fetch_expectations"]

_TIMEOUT_S = 10.0


class ExpectationsError(WorkflowError):
    """The building's expectations answer is not what the runner can use (expectations_malformed)."""

    title = "Unusable expectations"


class _Expectations(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    driver_id: str
    stops: dict[str, list[str]]
    packages: dict[str, str]


def fetch_expectations(access_url: str, driver_id: str) -> Mapping[str, str]:
    """Package id → the outcome expected for it; empty (all "delivered") for a real building."""
    url = f"{access_url.rstrip('/')}{API_PREFIX}/dev/expectations/{quote(driver_id, safe='')}"
    try:
        with httpx.Client(timeout=_TIMEOUT_S) as client:
            answer = client.get(url)
    except httpx.HTTPError as err:
        raise ServiceUnreachable(f"cannot ask {access_url} for expectations: {err}") from err
    if answer.status_code == 404:
        return {}
    try:
        answer.raise_for_status()
        body = _Expectations.model_validate_json(answer.content)
    except (httpx.HTTPStatusError, ValidationError) as err:
        raise ExpectationsError(
            "expectations_malformed", f"{url} answered {answer.status_code}: {err}"
        ) from err
    return dict(body.packages)


def expected_outcome(expectations: Mapping[str, str], package_id: str) -> str:
    return expectations.get(package_id, DELIVERED)
