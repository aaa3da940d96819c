"""Maintenance statements, bundles and receipt batches: vectors both ways, and every refusal reason.

Regenerate the vector file after a deliberate wire change with
`PYTHONPATH=. python tests/protocol/test_protocol_maintenance.py --write` and review the diff.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from cwt.cose_key_interface import COSEKeyInterface

from protocol import cbor_strict, gatt
from protocol.errors import ProtocolError
from protocol.keys import (
    TrustedIssuerKey,
    derive_key_id,
    load_private_key,
    public_key_bytes,
)
from protocol.maintenance import (
    BUNDLE_MAX,
    STATEMENT_MAX,
    Authority,
    MaintenanceBundle,
    MaintenanceReport,
    Revocation,
    Role,
    Statement,
    StatementKind,
    check_statement,
    sign_statement,
)
from protocol.reasons import Outcome, ReasonCode
from protocol.receipt import (
    GENESIS_HASH,
    RECEIPT_MAX,
    Receipt,
    decode_receipt,
    sign_receipt,
)
from protocol.seal import SEAL_OVERHEAD, kid_tag, open_sealed, seal, seal_key

VECTORS = Path(__file__).resolve().parents[2] / "protocol" / "vectors" / "maintenance.json"
INPUTS: dict[str, Any] = {
    "owner_seed": "60" * 32,
    "service_seed": "61" * 32,
    "carrier_seed": "62" * 32,
    "door_seed": "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f",
    "door_id": "B12-MAIN",
    "time": 1767225900,
    "revoked_grant_id": "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
    "revoked_handheld_kid": "0102030405060708",
    "epoch": 1767225000,
    "added_kid": "as-2026b",
    "added_issuer": "lobbykey-as",
    "retired_kid": "as-2026a",
    "ack_seq": 41,
    "seal_key": "707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f",
    "seal_nonce": "a0a1a2a3a4a5a6a7a8a9aaab",
}


def _key(name: str) -> Any:
    return load_private_key(bytes.fromhex(INPUTS[name]))


def _kid(name: str) -> bytes:
    return derive_key_id(public_key_bytes(_key(name)))


def statements(inputs: dict[str, Any]) -> list[tuple[Statement, str]]:
    """(statement, signer seed name) in counter order: one of each kind."""
    door = inputs["door_id"]
    revocation = Revocation(
        grant_ids=(bytes.fromhex(inputs["revoked_grant_id"]),),
        handheld_kids=(bytes.fromhex(inputs["revoked_handheld_kid"]),),
        epoch=inputs["epoch"],
    )
    added = TrustedIssuerKey(
        kid=inputs["added_kid"].encode(),
        issuer=inputs["added_issuer"],
        public_key=public_key_bytes(_key("carrier_seed")),
    )
    return [
        (Statement(door, 1, StatementKind.TIME, inputs["time"]), "service_seed"),
        (Statement(door, 2, StatementKind.REVOCATION, revocation), "service_seed"),
        (Statement(door, 3, StatementKind.TRUST_ADD, added), "owner_seed"),
        (Statement(door, 4, StatementKind.TRUST_RETIRE, inputs["retired_kid"].encode()), "owner_seed"),
        (Statement(door, 5, StatementKind.RECEIPT_ACK, inputs["ack_seq"]), "service_seed"),
    ]


def build(inputs: dict[str, Any]) -> dict[str, str]:
    signed = [sign_statement(s, _key(seed), _kid(seed)) for s, seed in statements(inputs)]
    door_key = _key("door_seed")
    maintained = sign_receipt(
        Receipt(door_id=inputs["door_id"], seq=0, prev_hash=GENESIS_HASH, grant_id=None,
                outcome=Outcome.MAINTAINED,
                reason=ReasonCode.OK, door_time=inputs["time"], statement=1),
        door_key,
    )  # fmt: skip
    outputs = {
        f"statement_{s.kind.name.lower()}": data.hex()
        for (s, _), data in zip(statements(inputs), signed, strict=True)
    }
    outputs |= {
        "owner_kid": _kid("owner_seed").hex(),
        "service_kid": _kid("service_seed").hex(),
        "bundle": bytes(MaintenanceBundle.pack(signed)).hex(),
        "report": bytes(MaintenanceReport((ReasonCode.OK, ReasonCode.STATEMENT_REPLAYED))).hex(),
        "maintained_receipt": maintained.hex(),
        "receipt_batch": bytes(gatt.ReceiptBatch.pack([maintained] * 3)).hex(),
        "door_info_full": bytes(gatt.DoorInfo(inputs["door_id"], (b"as-2026a",), receipts_full=True)).hex(),
        "sealed_statement_time": seal(
            signed[0], _seal_key(inputs), bytes.fromhex(inputs["seal_nonce"])
        ).hex(),
        "kid_tag": kid_tag(bytes.fromhex(inputs["seal_key"]), inputs["retired_kid"].encode()).hex(),
    }
    return outputs


def _seal_key(inputs: dict[str, Any]) -> COSEKeyInterface:
    return seal_key(bytes.fromhex(inputs["seal_key"]))


def authorities() -> dict[bytes, Authority]:
    return {
        _kid("owner_seed"): Authority(_kid("owner_seed"), Role.OWNER, public_key_bytes(_key("owner_seed"))),
        _kid("service_seed"): Authority(
            _kid("service_seed"), Role.SERVICE, public_key_bytes(_key("service_seed"))
        ),
    }


def test_vectors_encode_byte_exact() -> None:
    stored = json.loads(VECTORS.read_text())
    assert stored["inputs"] == INPUTS
    assert build(INPUTS) == stored["outputs"]


def test_vectors_decode_and_verify() -> None:
    outputs = json.loads(VECTORS.read_text())["outputs"]
    for expected, _ in statements(INPUTS):
        data = bytes.fromhex(outputs[f"statement_{expected.kind.name.lower()}"])
        check = check_statement(
            data, authorities(), door_id=INPUTS["door_id"], last_counter=expected.counter - 1
        )
        assert check == type(check)(ReasonCode.OK, expected)
        assert len(data) <= STATEMENT_MAX
    bundle = MaintenanceBundle.from_bytes(bytes.fromhex(outputs["bundle"]))
    every = [outputs[f"statement_{k.name.lower()}"] for k in StatementKind]
    assert [s.hex() for s in bundle.statements] == every[:3]  # the longest prefix within 512 bytes
    report = MaintenanceReport.from_bytes(bytes.fromhex(outputs["report"]))
    assert report.reasons == (ReasonCode.OK, ReasonCode.STATEMENT_REPLAYED)
    receipt = decode_receipt(bytes.fromhex(outputs["maintained_receipt"]))
    assert (receipt.outcome, receipt.statement, receipt.grant_id) == (Outcome.MAINTAINED, 1, None)
    batch = gatt.ReceiptBatch.from_bytes(bytes.fromhex(outputs["receipt_batch"]))
    assert batch.receipts == (bytes.fromhex(outputs["maintained_receipt"]),) * 3 and batch.more is False
    assert gatt.DoorInfo.from_bytes(bytes.fromhex(outputs["door_info_full"])).receipts_full is True
    sealed = bytes.fromhex(outputs["sealed_statement_time"])
    assert open_sealed(sealed, _seal_key(INPUTS), 512).hex() == outputs["statement_time"]
    assert len(sealed) - len(bytes.fromhex(outputs["statement_time"])) <= SEAL_OVERHEAD
    with pytest.raises(ProtocolError):
        open_sealed(sealed, seal_key(bytes(32)), 512)
    tampered = bytearray(sealed)
    tampered[-1] ^= 1
    with pytest.raises(ProtocolError):
        open_sealed(bytes(tampered), _seal_key(INPUTS), 512)
    assert (
        outputs["kid_tag"] == kid_tag(bytes.fromhex(INPUTS["seal_key"]), INPUTS["retired_kid"].encode()).hex()
    )


def _signed(statement: Statement, seed: str = "service_seed") -> bytes:
    return sign_statement(statement, _key(seed), _kid(seed))


def _check(data: bytes, last: int | None = 4) -> ReasonCode:
    return check_statement(data, authorities(), door_id="B12-MAIN", last_counter=last).reason


TIME = Statement("B12-MAIN", 5, StatementKind.TIME, 1767225900)


def test_each_refusal_has_its_own_reason() -> None:
    assert _check(_signed(TIME)) is ReasonCode.OK
    assert _check(b"\xff") is ReasonCode.STATEMENT_MALFORMED
    assert _check(TIME.encode_payload()) is ReasonCode.STATEMENT_UNSIGNED
    assert _check(_signed(TIME, "carrier_seed")) is ReasonCode.STATEMENT_UNKNOWN_SIGNER
    forged = bytearray(_signed(TIME))
    forged[-1] ^= 1
    assert _check(bytes(forged)) is ReasonCode.STATEMENT_BAD_SIGNATURE
    retire = Statement("B12-MAIN", 5, StatementKind.TRUST_RETIRE, b"as-2026a")
    assert _check(_signed(retire)) is ReasonCode.STATEMENT_NOT_AUTHORIZED  # the service may not touch trust
    assert _check(_signed(retire, "owner_seed")) is ReasonCode.OK
    assert _check(_signed(Statement("B12-SIDE", 5, StatementKind.TIME, 1))) is ReasonCode.STATEMENT_WRONG_DOOR
    assert _check(_signed(TIME), last=5) is ReasonCode.STATEMENT_REPLAYED
    assert _check(_signed(TIME), last=6) is ReasonCode.STATEMENT_STALE
    assert _check(_signed(TIME), last=None) is ReasonCode.OK


def test_a_carrier_cannot_add_or_remove_another_carrier() -> None:
    rival = TrustedIssuerKey(
        kid=b"rival", issuer="rivalco", public_key=public_key_bytes(_key("carrier_seed"))
    )
    for statement in (
        Statement("B12-MAIN", 9, StatementKind.TRUST_ADD, rival),
        Statement("B12-MAIN", 9, StatementKind.TRUST_RETIRE, b"as-2026a"),
    ):
        assert _check(_signed(statement, "carrier_seed")) is ReasonCode.STATEMENT_UNKNOWN_SIGNER


def test_bundle_and_batch_fit_one_attribute_by_construction() -> None:
    big = [bytes(STATEMENT_MAX)] * 5
    assert len(bytes(MaintenanceBundle.pack(big))) <= BUNDLE_MAX
    assert len(MaintenanceBundle.pack(big).statements) == 2
    for count in range(12):
        batch = gatt.ReceiptBatch.pack([bytes(RECEIPT_MAX)] * count)
        assert len(bytes(batch)) <= gatt.ATT_MAX_VALUE
        assert len(batch.receipts) == min(count, 2) and batch.more is (count > 2)
    typical = gatt.ReceiptBatch.pack([bytes(163)] * 10)
    assert len(typical.receipts) == 3 and len(bytes(typical)) <= gatt.ATT_MAX_VALUE


def test_statement_payload_is_strict_cbor() -> None:
    payload = TIME.encode_payload()
    assert cbor_strict.encode(cbor_strict.decode(payload, cbor_strict.Limits(max_size=240))) == payload
    with pytest.raises(ProtocolError):
        Statement.decode_payload(payload + b"\x00")


if __name__ == "__main__" and "--write" in sys.argv:
    VECTORS.write_text(json.dumps({"description": "LobbyKey maintenance statements (SPEC 14, 15); hex bytes.",
                                   "inputs": INPUTS, "outputs": build(INPUTS)}, indent=2) + "\n")  # fmt: skip
