"""Over the emulated radio: weak handheld keys and stale challenges never open the door."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from protocol.gatt import CHALLENGE_CHAR_UUID, UNLOCK_CHAR_UUID, Challenge, UnlockResult
from protocol.grant import GrantClaims, encode_claims
from protocol.reasons import Outcome, ReasonCode
from protocol.sign1 import sign1
from protocol.unlock import UnlockRequest
from tests.door_air import air_door
from tests.door_support import DOOR_ID, Issuer

pytestmark = pytest.mark.timeout(60)

VECTORS_FILE = Path(__file__).resolve().parents[2] / "protocol" / "vectors" / "weak_keys.json"
VECTORS = json.loads(VECTORS_FILE.read_text())
IDENTITY = bytes.fromhex(VECTORS["weak_public_keys"][0]["public_key"])
ORDER_2 = bytes.fromhex(VECTORS["weak_public_keys"][1]["public_key"])


def _grant_bound_to(issuer: Issuer, raw_key: bytes) -> bytes:
    claims = GrantClaims.for_delivery(
        issuer=issuer.name,
        subject="driver-7",
        door_id=DOOR_ID,
        stop_id="stop-1",
        package_id="PKG-1",
        carrier="parcelco",
        confirmation_key=raw_key,
        grant_id=bytes(range(16)),
        now=int(time.time()),
        lifetime=120,
    )
    return sign1(encode_claims(claims), issuer.key, issuer.kid)


@pytest.mark.parametrize("weak", [IDENTITY, ORDER_2], ids=["identity", "order-2"])
async def test_grant_bound_to_a_small_order_key_is_refused_weak_key(tmp_path: Path, weak: bytes) -> None:
    """Old main opened for the identity key with a "signature" R = identity, S = 0 made without any key."""
    async with air_door(tmp_path) as door:
        grant = _grant_bound_to(door.issuer, weak)
        phone = await door.phone()
        forged = weak + bytes(32)
        for _ in range(4):  # an order-2 key would pass some challenges by luck: none may open
            result = await phone.unlock(lambda _challenge: bytes(UnlockRequest(grant, forged)))
            assert (result.outcome, result.reason) == (Outcome.REFUSED, ReasonCode.WEAK_KEY)
        assert door.door.controller.state.locked


async def test_challenge_read_before_its_ttl_ran_out_is_refused(tmp_path: Path) -> None:
    async with air_door(tmp_path, challenge_ttl_s=0.3) as door:
        phone = await door.phone()
        request_for = door.request_for()
        stale = await phone.read(CHALLENGE_CHAR_UUID)
        await asyncio.sleep(0.5)
        await phone.write(UNLOCK_CHAR_UUID, request_for(Challenge.from_bytes(stale).nonce))
        async with asyncio.timeout(5):
            result = UnlockResult.from_bytes(await phone.indications.get())
        assert (result.outcome, result.reason) == (Outcome.REFUSED, ReasonCode.CHALLENGE_EXPIRED)
        fresh = await phone.unlock(request_for)  # the same grant, with a fresh challenge, still opens
        assert fresh.reason is ReasonCode.OK
