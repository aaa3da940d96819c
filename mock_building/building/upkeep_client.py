"""`mock-building revoke | rotate-key | set-time | accept-carrier | drop-carrier` through the admin API.

Each command changes the service at once; the doors learn of it the next time any phone connects,
because the service queues signed statements that phones relay (SPEC section 14).
"""

from __future__ import annotations

import binascii
from collections.abc import Callable

import httpx

# One admin HTTP client for every `mock-building` admin command: the fault command's helpers.
from mock_building.building.fault_client import FaultCommandError, _call, _client, _json
from protocol.api import b64url_decode, b64url_encode

__all__ = ["change_carrier", "revoke", "rotate_key", "set_time"]


def revoke(
    url: str,
    admin_token: str,
    *,
    grant_id: str | None,
    handheld_key_id: str | None,
    building: str | None,
    reason: str,
) -> str:
    """Revoke a grant (hex or base64url id), a handheld key (base64url key id), or every grant issued
    so far at a building's doors (an epoch); returns what was revoked."""
    if building is not None:
        _admin(url, admin_token, lambda http: http.post, f"/v1/admin/buildings/{building}/revocation-epoch")
        return f"every grant issued so far at {building}"
    if grant_id is not None:
        body: dict[str, str | None] = {"grant_id": b64url_encode(_grant_id_bytes(grant_id)), "reason": reason}
    else:
        body = {"handheld_key_id": handheld_key_id, "reason": reason}
    _admin(url, admin_token, lambda http: http.post, "/v1/revocations", body)
    return f"grant {grant_id}" if grant_id is not None else f"handheld key {handheld_key_id}"


def rotate_key(url: str, admin_token: str, carrier_id: str) -> None:
    _admin(url, admin_token, lambda http: http.post, f"/v1/admin/carriers/{carrier_id}/key-rotation")


def set_time(url: str, admin_token: str, door_id: str) -> int:
    """Queue a time statement for the door; returns how many statements now wait for it."""
    answer = _admin(url, admin_token, lambda http: http.post, f"/v1/admin/doors/{door_id}/time")
    statements = answer.get("statements", [])
    return len(statements) if isinstance(statements, list) else 0


def change_carrier(url: str, admin_token: str, building_id: str, carrier_id: str, *, accepted: bool) -> None:
    path = f"/v1/admin/buildings/{building_id}/carriers/{carrier_id}"
    _admin(url, admin_token, (lambda http: http.put) if accepted else (lambda http: http.delete), path)


def _grant_id_bytes(text: str) -> bytes:
    try:
        raw = bytes.fromhex(text) if len(text) == 32 else b64url_decode(text)
    except (ValueError, binascii.Error):
        raw = b""
    if len(raw) != 16:
        raise FaultCommandError("invalid_request", f"{text!r} is not a grant id (32 hex digits or base64url)")
    return raw


def _admin(
    url: str,
    admin_token: str,
    method: Callable[[httpx.Client], Callable[..., httpx.Response]],
    path: str,
    body: object = None,
) -> dict[str, object]:
    url = url.rstrip("/")
    with _client(admin_token) as http:
        response = _call(method(http), f"{url}{path}", body)  # the whole URL: errors name what was tried
    return {} if response.status_code == 204 else _json(response, url)
