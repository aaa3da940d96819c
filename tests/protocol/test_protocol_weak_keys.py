"""protocol/vectors/weak_keys.json: Ed25519 keys and signatures every implementation must refuse."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from nacl.bindings import crypto_core_ed25519_add

from protocol.errors import KeyFormatError
from protocol.keys import TrustedIssuerKey, derive_key_id, load_public_key, public_key_bytes, verify_strict
from protocol.reasons import ReasonCode

VECTORS_FILE = Path(__file__).resolve().parents[2] / "protocol" / "vectors" / "weak_keys.json"
VECTORS = json.loads(VECTORS_FILE.read_text())
WEAK = [(v["name"], bytes.fromhex(v["public_key"])) for v in VECTORS["weak_public_keys"]]


@pytest.mark.parametrize(("name", "raw"), WEAK, ids=[name for name, _ in WEAK])
def test_weak_public_keys_are_refused_with_weak_key(name: str, raw: bytes) -> None:
    Ed25519PublicKey.from_public_bytes(raw)  # OpenSSL alone takes every one of them
    for use in (load_public_key, derive_key_id, lambda r: TrustedIssuerKey(b"k", "iss", r)):
        with pytest.raises(KeyFormatError) as refused:
            use(raw)
        assert refused.value.reason is ReasonCode.WEAK_KEY, name


def test_mixed_order_vector_is_the_handheld_key_plus_a_torsion_point() -> None:
    sig = VECTORS["non_canonical_signature"]
    handheld = public_key_bytes(Ed25519PrivateKey.from_private_bytes(bytes.fromhex(sig["handheld_seed"])))
    assert handheld.hex() == sig["public_key"]
    mixed = dict(WEAK)["mixed order (handheld key + order-8 point)"]
    assert crypto_core_ed25519_add(handheld, bytes.fromhex(VECTORS["order8_point"])) == mixed
    assert load_public_key(handheld) is not None


def test_signature_with_s_not_reduced_is_refused() -> None:
    sig = VECTORS["non_canonical_signature"]
    public, message = bytes.fromhex(sig["public_key"]), bytes.fromhex(sig["message"])
    canonical, stretched = bytes.fromhex(sig["canonical_signature"]), bytes.fromhex(sig["signature_s_plus_l"])
    assert verify_strict(public, canonical, message)
    l_order = 2**252 + 27742317777372353535851937790883648493
    assert int.from_bytes(stretched[32:], "little") - int.from_bytes(canonical[32:], "little") == l_order
    assert not verify_strict(public, stretched, message)
