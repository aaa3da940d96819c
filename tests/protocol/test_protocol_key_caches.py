"""Caches on the signing and verifying paths (issue 13) never change what is signed or accepted."""

from __future__ import annotations

import gc
import json
from pathlib import Path

import pytest

from protocol.errors import KeyFormatError, ReceiptError
from protocol.grant import issue_grant, parse_grant
from protocol.keys import TrustedIssuerKey, TrustStore, load_private_key, load_public_key, public_key_bytes
from protocol.reasons import Outcome, ReasonCode
from protocol.receipt import GENESIS_HASH, Receipt, sign_receipt, verify_receipt
from protocol.sign1 import verify_sign1
from protocol.unlock import UnlockRequest, pop_payload
from tests.protocol_world import (
    CHALLENGE,
    DOOR_ID,
    GRANT_ID,
    HANDHELD_KEY,
    ISSUER,
    KID,
    Door,
    claims,
    request,
)

# Fresh seeds, not the shared world keys, so no earlier test has warmed a cache for them.
SEEDS = [bytes([i]) * 32 for i in range(100, 190)]


def _store(seed: bytes, kid: bytes = KID) -> TrustStore:
    return TrustStore.of([TrustedIssuerKey(kid, ISSUER, public_key_bytes(load_private_key(seed)))])


def test_a_rotated_key_signs_with_itself_under_the_same_kid() -> None:
    old, new = load_private_key(SEEDS[0]), load_private_key(SEEDS[1])
    old_grant, new_grant = issue_grant(claims(), old, KID), issue_grant(claims(), new, KID)
    assert old_grant != new_grant
    assert Door(store=_store(SEEDS[1])).check(request(new_grant)).accepted
    assert Door(store=_store(SEEDS[0])).check(request(new_grant)).reason is ReasonCode.BAD_SIGNATURE
    assert Door(store=_store(SEEDS[0])).check(request(old_grant)).accepted
    # Signing again with the first key after the rotation still uses the first key.
    assert issue_grant(claims(), old, KID) == old_grant


def test_same_key_under_another_kid_is_signed_with_that_kid() -> None:
    key = load_private_key(SEEDS[2])
    first, second = issue_grant(claims(), key, KID), issue_grant(claims(), key, b"as-2026z")
    assert parse_grant(first).kid == KID and parse_grant(second).kid == b"as-2026z"
    assert Door(store=_store(SEEDS[2], b"as-2026z")).check(request(second)).accepted


def test_many_short_lived_key_objects_each_sign_with_their_own_key() -> None:
    """More keys than the signer cache holds, each dropped after use so CPython may reuse its id."""
    expected = {seed: issue_grant(claims(), load_private_key(seed), KID) for seed in SEEDS}
    gc.collect()
    for seed in [*SEEDS, *reversed(SEEDS)]:
        token = issue_grant(claims(), load_private_key(seed), KID)
        assert token == expected[seed]
        envelope = parse_grant(token)
        assert verify_sign1(envelope, _store(seed).by_kid[KID].cose_key)
        other = SEEDS[(SEEDS.index(seed) + 1) % len(SEEDS)]
        assert not verify_sign1(envelope, _store(other).by_kid[KID].cose_key)


def _unlock(grant_bytes: bytes) -> bytes:
    """An unlock request with a valid proof for the grant id the untampered grant names."""
    proof = HANDHELD_KEY.sign(pop_payload(CHALLENGE, DOOR_ID, GRANT_ID))
    return bytes(UnlockRequest(grant=grant_bytes, pop_signature=proof))


@pytest.mark.parametrize("part", ["protected header", "payload", "signature"])
def test_a_tampered_grant_from_a_warm_signer_is_refused(part: str) -> None:
    key, store = load_private_key(SEEDS[3]), _store(SEEDS[3])
    token = issue_grant(claims(), key, KID)
    assert issue_grant(claims(), key, KID) == token  # the second one came from the cached signer
    assert Door(store=store).check(_unlock(token)).accepted
    envelope = parse_grant(token)
    chunk = {"protected header": KID, "payload": envelope.payload, "signature": envelope.signature}[part]
    start = token.index(chunk)
    for offset in range(start, start + len(chunk)):
        tampered = bytearray(token)
        tampered[offset] ^= 0x01
        decision = Door(store=store).check(_unlock(bytes(tampered)))
        assert not decision.accepted and decision.claims is None, (part, offset, decision.reason)


WEAK_KEYS = json.loads(
    (Path(__file__).resolve().parents[2] / "protocol" / "vectors" / "weak_keys.json").read_text()
)


def test_point_validation_remembers_only_keys_that_passed() -> None:
    handheld = bytes.fromhex(WEAK_KEYS["non_canonical_signature"]["public_key"])
    mixed = next(
        bytes.fromhex(v["public_key"]) for v in WEAK_KEYS["weak_public_keys"] if "mixed" in v["name"]
    )
    for _ in range(3):  # warm: the prime-order part passes (and is remembered) ...
        assert public_key_bytes(load_public_key(handheld)) == handheld
        with pytest.raises(KeyFormatError) as refused:  # ... the same key plus torsion never does
            load_public_key(mixed)
        assert refused.value.reason is ReasonCode.WEAK_KEY


def test_receipt_checks_with_a_cached_door_key_follow_the_key_they_are_given() -> None:
    old, new = load_private_key(SEEDS[4]), load_private_key(SEEDS[5])
    receipt = Receipt(DOOR_ID, 0, GENESIS_HASH, GRANT_ID, Outcome.UNLOCKED, ReasonCode.OK, 1_767_225_600)
    signed_old, signed_new = sign_receipt(receipt, old), sign_receipt(receipt, new)
    for _ in range(2):  # the second round runs on warm caches
        assert verify_receipt(signed_old, public_key_bytes(old)) == receipt
        assert verify_receipt(signed_new, public_key_bytes(new)) == receipt
        with pytest.raises(ReceiptError):
            verify_receipt(signed_new, public_key_bytes(old))
        with pytest.raises(ReceiptError):
            verify_receipt(signed_old, public_key_bytes(new))


def test_the_protocols_cose_codec_writes_python_cwts_bytes_without_a_cbor2_dumps_per_item(
    monkeypatch,
) -> None:
    """Sealing and signing give what stock python-cwt gives, serialised by the strict encoder."""
    import cwt.cbor_processor
    from cwt import COSE

    from protocol.cose_codec import COSE_CODEC
    from protocol.keys import cose_signing_key
    from protocol.seal import seal, seal_key

    signing = cose_signing_key(load_private_key(bytes(range(32))), KID)
    sealing, nonce, payload = seal_key(bytes(32)), bytes(12), b"\xa1\x01\x02" * 50
    stock = COSE.new()
    expected_signed = stock.encode_and_sign(payload, signing, protected={1: -8, 4: KID}, unprotected={})
    expected_sealed = stock.encode_and_encrypt(payload, sealing, protected={1: 3}, unprotected={5: nonce})

    def no_dumps(_: object) -> bytes:
        raise AssertionError("python-cwt serialised with a cbor2.dumps of its own")

    monkeypatch.setattr(cwt.cbor_processor, "dumps", no_dumps)
    assert (
        COSE_CODEC.encode_and_sign(payload, signing, protected={1: -8, 4: KID}, unprotected={})
        == expected_signed
    )
    assert seal(payload, sealing, nonce) == expected_sealed
