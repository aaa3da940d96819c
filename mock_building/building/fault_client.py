"""`mock-building fault`: toggle door or service faults of a running building through its admin API."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import httpx

from mock_building.errors import CodedError

__all__ = ["FaultCommandError", "parse_settings", "set_door_faults", "set_service_faults"]

_TRUE = {"on", "true", "yes"}
_FALSE = {"off", "false", "no"}


class FaultCommandError(CodedError):
    """The fault could not be set; `reason` is the building's problem code or a local one."""


Value = bool | int | float


def parse_settings(items: Sequence[str]) -> dict[str, Value]:
    """`["jammed=on", "slow_ms=800", "error_rate=0.2"]` -> `{"jammed": True, "slow_ms": 800, "error_rate": 0.2}`.

    on/off (true/false, yes/no) are booleans, anything else must be a number; the building
    checks which type each fault takes.
    """
    settings: dict[str, Value] = {}
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
            settings[name] = _number(name, word)
    return settings


def _number(name: str, word: str) -> int | float:
    for kind in (int, float):
        try:
            return kind(word)
        except ValueError:
            pass
    raise FaultCommandError("invalid_request", f"{name}: {word!r} is neither on/off nor a number")


def set_door_faults(url: str, admin_token: str, door_id: str, settings: Mapping[str, Value]) -> dict[str, object]:
    """PUT the changes; returns every fault setting of the door afterwards."""
    with _client(url, admin_token) as http:
        faults = _json(_call(http.put, f"/v1/admin/doors/{door_id}/faults", dict(settings)))["faults"]
        if not isinstance(faults, dict):
            raise FaultCommandError("unexpected_response", "the answer has no faults table")
        return faults


def set_service_faults(url: str, admin_token: str, settings: Mapping[str, Value]) -> dict[str, object]:
    """Change some service faults (the service's PUT replaces all, so read, merge, write)."""
    with _client(url, admin_token) as http:
        current = _json(_call(http.get, "/v1/admin/faults"))
        return _json(_call(http.put, "/v1/admin/faults", {**current, **settings}))


def _client(url: str, admin_token: str) -> httpx.Client:
    return httpx.Client(base_url=url.rstrip("/"), headers={"Authorization": f"Bearer {admin_token}"}, timeout=10)


def _call(method: Callable[..., httpx.Response], path: str, body: object = None) -> httpx.Response:
    try:
        return method(path) if body is None else method(path, json=body)
    except httpx.HTTPError as err:
        raise FaultCommandError("building_unreachable", f"cannot reach the building: {err}") from err


def _json(response: httpx.Response) -> dict[str, object]:
    if response.is_success:
        return dict(response.json())
    try:
        problem = response.json()
        code, detail = str(problem["code"]), str(problem.get("detail") or problem["title"])
    except (ValueError, KeyError, TypeError):
        code, detail = "unexpected_response", f"HTTP {response.status_code}"
    raise FaultCommandError(code, detail)
