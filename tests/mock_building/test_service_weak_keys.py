"""Enrolment refuses every weak Ed25519 key of protocol/vectors/weak_keys.json with `weak_key`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mock_building.service.clock import FakeClock
from protocol.api import b64url_encode
from tests.service_support import NOON, service_client, sign_in

pytestmark = pytest.mark.usefixtures("service_backend")

VECTORS_FILE = Path(__file__).resolve().parents[2] / "protocol" / "vectors" / "weak_keys.json"
VECTORS = json.loads(VECTORS_FILE.read_text())


async def test_weak_handheld_keys_are_not_enrolled() -> None:
    """Old main registered the identity point `01 00..00` (201): a key anyone can "sign" for."""
    async with service_client(FakeClock(NOON)) as client:
        alice = await sign_in(client, "alice", "alice-pw")
        for vector in VECTORS["weak_public_keys"]:
            body = {"public_key": b64url_encode(bytes.fromhex(vector["public_key"]))}
            refused = await client.post("/v1/handheld-keys", json=body, headers=alice.headers)
            assert refused.status_code == 422, vector["name"]
            assert refused.json()["code"] == "weak_key", vector["name"]
