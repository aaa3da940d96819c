"""Test vectors (protocol/vectors/v1.json), checked byte-exact in both directions.

Regenerate after a deliberate wire change with
`PYTHONPATH=. python tests/test_protocol_vectors.py --write` and review the diff.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from protocol import gatt
from protocol.grant import GrantClaims, decode_claims, issue_grant, parse_grant
from protocol.keys import TrustedIssuerKey, TrustStore, load_private_key, public_key_bytes
from protocol.reasons import Outcome, ReasonCode
from protocol.receipt import GENESIS_HASH, Receipt, receipt_digest, sign_receipt, verify_receipt
from protocol.replay import InMemoryReplayCache
from protocol.unlock import UnlockRequest, build_unlock_request, pop_payload
from protocol.verify import verify_unlock

VECTORS = Path(__file__).resolve().parents[2] / "protocol" / "vectors" / "v1.json"


def _claims(inputs: dict[str, Any]) -> GrantClaims:
    g = inputs["grant"]
    return GrantClaims(
        issuer=g["iss"], subject=g["sub"], door_id=g["aud"], issued_at=g["iat"], not_before=g["nbf"],
        expires_at=g["exp"], grant_id=bytes.fromhex(g["cti"]), stop_id=g["stop_id"], package_id=g["package_id"],
        carrier=g["carrier"], confirmation_key=public_key_bytes(load_private_key(bytes.fromhex(inputs["handheld_seed"]))),
    )  # fmt: skip


def _receipt(inputs: dict[str, Any], prev_hash: bytes) -> Receipt:
    r = inputs["receipt"]
    return Receipt(door_id=inputs["door_id"], seq=r["seq"], prev_hash=prev_hash, grant_id=bytes.fromhex(r["grant_id"]),
                   outcome=Outcome[r["outcome"]], reason=ReasonCode[r["reason"]], door_time=r["door_time"])  # fmt: skip


def build(inputs: dict[str, Any]) -> dict[str, str]:
    """Every encoded output of the vector file, computed from its inputs."""
    issuer_key = load_private_key(bytes.fromhex(inputs["issuer_seed"]))
    handheld_key = load_private_key(bytes.fromhex(inputs["handheld_seed"]))
    door_key = load_private_key(bytes.fromhex(inputs["door_seed"]))
    claims = _claims(inputs)
    challenge = bytes.fromhex(inputs["challenge"])
    grant = issue_grant(claims, issuer_key, bytes.fromhex(inputs["kid"]))
    request = build_unlock_request(grant, handheld_key, challenge, inputs["door_id"])
    receipt = sign_receipt(_receipt(inputs, GENESIS_HASH), door_key)
    return {
        "issuer_public_key": public_key_bytes(issuer_key).hex(),
        "handheld_public_key": public_key_bytes(handheld_key).hex(),
        "door_public_key": public_key_bytes(door_key).hex(),
        "grant": grant.hex(),
        "pop_payload": pop_payload(challenge, inputs["door_id"], claims.grant_id).hex(),
        "unlock_request": request.hex(),
        "receipt": receipt.hex(),
        "receipt_digest": receipt_digest(receipt).hex(),
        "challenge_message": bytes(gatt.Challenge(challenge)).hex(),
        "door_info": bytes(gatt.DoorInfo(inputs["door_id"], (bytes.fromhex(inputs["kid"]),))).hex(),
        "unlock_result": bytes(gatt.UnlockResult(Outcome.UNLOCKED, ReasonCode.OK, receipt)).hex(),
        "unlock_result_open": bytes(
            gatt.UnlockResult(Outcome.UNLOCKED, ReasonCode.OK, receipt, open_seconds=inputs["open_seconds"])
        ).hex(),
        "advertising_data": gatt.advertising_data(inputs["door_id"]).hex(),
    }


def _load() -> dict[str, Any]:
    return json.loads(VECTORS.read_text())


def test_encoding_matches_vectors_byte_for_byte() -> None:
    vectors = _load()
    assert build(vectors["inputs"]) == vectors["outputs"]


def test_vector_bytes_decode_and_verify() -> None:
    vectors = _load()
    inputs, out = vectors["inputs"], vectors["outputs"]
    grant = bytes.fromhex(out["grant"])
    assert decode_claims(parse_grant(grant).payload) == _claims(inputs)
    request = bytes.fromhex(out["unlock_request"])
    assert UnlockRequest.from_bytes(request).grant == grant
    store = TrustStore.of([TrustedIssuerKey(bytes.fromhex(inputs["kid"]), inputs["grant"]["iss"],
                                            bytes.fromhex(out["issuer_public_key"]))])  # fmt: skip
    decision = verify_unlock(request, trusted_keys=store, door_id=inputs["door_id"],
                             challenge=bytes.fromhex(inputs["challenge"]), replay_cache=InMemoryReplayCache(),
                             now=inputs["door_now"])  # fmt: skip
    assert decision.accepted and decision.claims == _claims(inputs)
    receipt = verify_receipt(bytes.fromhex(out["receipt"]), bytes.fromhex(out["door_public_key"]))
    assert receipt == _receipt(inputs, GENESIS_HASH)
    result = gatt.UnlockResult.from_bytes(bytes.fromhex(out["unlock_result"]))
    assert result.receipt == bytes.fromhex(out["receipt"]) and result.unlocked and result.open_seconds is None
    result_open = gatt.UnlockResult.from_bytes(bytes.fromhex(out["unlock_result_open"]))
    assert result_open == gatt.UnlockResult(
        Outcome.UNLOCKED, ReasonCode.OK, result.receipt, inputs["open_seconds"]
    )
    assert (
        gatt.Challenge.from_bytes(bytes.fromhex(out["challenge_message"])).nonce.hex() == inputs["challenge"]
    )
    assert gatt.DoorInfo.from_bytes(bytes.fromhex(out["door_info"])).door_id == inputs["door_id"]


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    data = _load()
    data["outputs"] = build(data["inputs"])
    VECTORS.write_text(json.dumps(data, indent=2) + "\n")
