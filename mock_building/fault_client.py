"""`mock-building fault`: toggle door faults of a running building through its admin endpoint."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import httpx

from mock_building.errors import MockBuildingError

__all__ = ["FaultCommandError", "parse_settings", "set_door_faults"]

_TRUE = {"on", "true", "yes"}
_FALSE = {"off", "false", "no"}


class FaultCommandError(MockBuildingError):
    """The fault could not be set; `reason` is the building's problem code or a local one."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def parse_settings(items: Sequence[str]) -> dict[str, bool | int]:
    """`["jammed=on", "slow_ms=800"]` -> `{"jammed": True, "slow_ms": 800}`.

    on/off (true/false, yes/no) are booleans, anything else must be a whole number; the door
    checks which type each fault takes.
    """
    settings: dict[str, bool | int] = {}
    for item in items:
        name, sep, raw = item.partition("=")
        if not sep or not name:
            raise FaultCommandError("invalid_request", f"{item!r} is not NAME=VALUE")
        word = raw.strip().lower()
        if word in _TRUE:
            settings[name] = True
        elif word in _FALSE:
            settings[name] = False
        else:
            try:
                settings[name] = int(word)
            except ValueError:
                raise FaultCommandError("invalid_request", f"{name}: {raw!r} is neither on/off nor a number") from None
    return settings


def set_door_faults(url: str, admin_token: str, door_id: str, settings: Mapping[str, bool | int]) -> dict[str, object]:
    """PUT the changes; returns every fault setting of the door afterwards."""
    try:
        response = httpx.put(
            f"{url.rstrip('/')}/v1/admin/doors/{door_id}/faults",
            json=dict(settings),
            headers={"Authorization": f"Bearer {admin_token}"},
            timeout=10,
        )
    except httpx.HTTPError as err:
        raise FaultCommandError("building_unreachable", f"cannot reach the building at {url}: {err}") from err
    if response.is_success:
        return dict(response.json()["faults"])
    try:
        problem = response.json()
        code, detail = str(problem["code"]), str(problem.get("detail") or problem["title"])
    except (ValueError, KeyError, TypeError):
        code, detail = "unexpected_response", f"HTTP {response.status_code}"
    raise FaultCommandError(code, detail)
