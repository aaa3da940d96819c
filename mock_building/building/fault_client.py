"""`mock-building fault`: toggle door or service faults of a running building through its admin API."""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields
from pathlib import Path

import httpx
import platformdirs

from mock_building.door.faults import DoorFaultSettings
from mock_building.errors import CodedError
from mock_building.scenario.model import ServiceFaultSettings

__all__ = [
    "DEFAULT_URL",
    "FaultCommandError",
    "building_url",
    "check_names",
    "parse_settings",
    "set_door_faults",
    "set_service_faults",
]

DEFAULT_URL = "http://127.0.0.1:8750"
DOOR_FAULTS = tuple(f.name for f in fields(DoorFaultSettings))
SERVICE_FAULTS = tuple(ServiceFaultSettings.model_fields)
# The driver app's config file (same env var, same per-user file): `fault` aims where the app does.
# The name is repeated, not imported: mock_building never imports driver_app.
_APP_CONFIG_ENV, _APP_DIR_NAME = "LOBBYKEY_CONFIG", "lobbykey-driver-app"

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


def building_url(flag: str | None, environ: Mapping[str, str] = os.environ) -> tuple[str, str]:
    """(URL, where it came from), in the driver app's order: flag > LOBBYKEY_ACCESS_URL > its config file."""
    if flag:
        return flag, "--url"
    if environ.get("LOBBYKEY_ACCESS_URL"):
        return environ["LOBBYKEY_ACCESS_URL"], "$LOBBYKEY_ACCESS_URL"
    explicit = environ.get(_APP_CONFIG_ENV)
    config = Path(explicit) if explicit else Path(platformdirs.user_config_dir(_APP_DIR_NAME)) / "config.toml"
    try:
        url = tomllib.loads(config.read_text(encoding="utf-8")).get("access_url")
    except FileNotFoundError:
        if explicit:
            raise FaultCommandError(
                "invalid_config", f"{config}: config file not found (named by ${_APP_CONFIG_ENV})"
            ) from None
        url = None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise FaultCommandError("invalid_config", f"{config}: cannot read access_url: {err}") from err
    return (str(url), str(config)) if url else (DEFAULT_URL, "default")


def check_names(settings: Mapping[str, Value], *, service: bool) -> None:
    """Refuse an unknown fault name here, listing the valid ones (the building would only say 422)."""
    valid = SERVICE_FAULTS if service else DOOR_FAULTS
    kind = "service" if service else "door"
    for name in settings:
        if name not in valid:
            near = difflib.get_close_matches(name, valid, n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise FaultCommandError(
                "unknown_fault", f"unknown {kind} fault {name!r}{hint}; {kind} faults: {', '.join(valid)}"
            )


def _number(name: str, word: str) -> int | float:
    for kind in (int, float):
        try:
            return kind(word)
        except ValueError:
            pass
    raise FaultCommandError("invalid_request", f"{name}: {word!r} is neither on/off nor a number")


def set_door_faults(
    url: str, admin_token: str, door_id: str, settings: Mapping[str, Value]
) -> dict[str, object]:
    """PUT the changes; returns every fault setting of the door afterwards."""
    url = url.rstrip("/")
    with _client(admin_token) as http:
        answer = _call(http.put, f"{url}/v1/admin/doors/{door_id}/faults", dict(settings))
        faults = _json(answer, url)["faults"]
        if not isinstance(faults, dict):
            raise FaultCommandError("unexpected_response", f"{url}: the answer has no faults table")
        return faults


def set_service_faults(url: str, admin_token: str, settings: Mapping[str, Value]) -> dict[str, object]:
    """Change some service faults (the service's PUT replaces all, so read, merge, write)."""
    url = url.rstrip("/")
    with _client(admin_token) as http:
        current = _json(_call(http.get, f"{url}/v1/admin/faults"), url)
        return _json(_call(http.put, f"{url}/v1/admin/faults", {**current, **settings}), url)


def _client(admin_token: str) -> httpx.Client:
    return httpx.Client(headers={"Authorization": f"Bearer {admin_token}"}, timeout=10)


def _call(method: Callable[..., httpx.Response], where: str, body: object = None) -> httpx.Response:
    """`where` is the whole URL, so a failure can name exactly what was tried."""
    try:
        return method(where) if body is None else method(where, json=body)
    except httpx.HTTPError as err:
        message = f"cannot reach the building at {where}: {err}"
        raise FaultCommandError("building_unreachable", message) from err


def _json(response: httpx.Response, url: str) -> dict[str, object]:
    if response.is_success:
        return dict(response.json())
    try:
        problem = response.json()
        code, detail = str(problem["code"]), str(problem.get("detail") or problem["title"])
    except (ValueError, KeyError, TypeError):
        code, detail = "unexpected_response", f"HTTP {response.status_code}"
    raise FaultCommandError(code, f"{url}: {detail}")
