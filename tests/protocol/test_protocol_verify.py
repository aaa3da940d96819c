"""The door's verifier: acceptance, and one test per refusal reason."""

from __future__ import annotations

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from protocol import cbor_strict
from protocol.errors import DecodeError, GrantError
from protocol.grant import MAX_LIFETIME, decode_claims, encode_claims, issue_grant, parse_grant
from protocol.keys import TrustedIssuerKey, TrustStore, public_key_bytes
from protocol.reasons import ReasonCode
from protocol.sign1 import sign1
from protocol.unlock import CHALLENGE_TTL, UnlockRequest, build_unlock_request, pop_payload
from protocol.verify import DEFAULT_LEEWAY, verify_unlock
from tests.protocol_world import (
    CHALLENGE,
    DOOR_ID,
    GRANT_ID,
    HANDHELD_KEY,
    ISSUER_KEY,
    KID,
    NOW,
    OTHER_KEY,
    Door,
    claims,
    grant,
    request,
)


def _with_pop(grant_bytes: bytes, key: Ed25519PrivateKey = HANDHELD_KEY) -> bytes:
    """An unlock request around a grant the normal builder would refuse to touch."""
    return bytes(
        UnlockRequest(grant=grant_bytes, pop_signature=key.sign(pop_payload(CHALLENGE, DOOR_ID, GRANT_ID)))
    )


def _resign_with_header(protected: dict[int, object]) -> bytes:
    """A COSE_Sign1 with a chosen protected header, signed correctly with the issuer key."""
    protected_bytes = cbor_strict.encode(protected)
    payload = encode_claims(claims())
    to_sign = cbor2.dumps(["Signature1", protected_bytes, b"", payload])
    return cbor2.dumps(cbor2.CBORTag(18, [protected_bytes, {}, payload, ISSUER_KEY.sign(to_sign)]))


def test_valid_request_is_accepted_and_carries_claims() -> None:
    decision = Door().check(request())
    assert decision.accepted and decision.reason is ReasonCode.OK
    assert decision.grant_id == GRANT_ID
    assert decision.claims == claims()


def test_claims_round_trip_through_grant() -> None:
    assert decode_claims(parse_grant(grant()).payload) == claims()


def test_grant_and_request_sizes_fit_one_long_write() -> None:
    assert len(grant()) <= 400
    assert len(request()) <= 400


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", ReasonCode.MALFORMED),
        (b"\xff\x00garbage", ReasonCode.MALFORMED),
        (b"\x00" * 513, ReasonCode.TOO_LARGE),
        (cbor_strict.encode({0: 2, 1: b"x", 2: bytes(64)}), ReasonCode.UNSUPPORTED_VERSION),
        (cbor_strict.encode({0: 1, 1: b"x", 2: bytes(64)}), ReasonCode.MALFORMED),
        (cbor_strict.encode({0: 1, 1: b"x"}), ReasonCode.MALFORMED),
    ],
)
def test_malformed_requests(data: bytes, reason: ReasonCode) -> None:
    assert Door().check(data).reason is reason


def test_trailing_bytes_are_malformed() -> None:
    assert Door().check(request() + b"\x00").reason is ReasonCode.MALFORMED


def test_no_active_challenge() -> None:
    assert Door().check(request(), challenge=None).reason is ReasonCode.NO_ACTIVE_CHALLENGE


def test_unknown_key() -> None:
    other = TrustStore.of([TrustedIssuerKey(b"as-2026b", "lobbykey-as", public_key_bytes(OTHER_KEY))])
    assert Door(store=other).check(request()).reason is ReasonCode.UNKNOWN_KEY


def test_algorithm_not_allowed_even_with_valid_signature() -> None:
    forged = _resign_with_header({1: -7, 4: KID})  # claims ES256, signed with the Ed25519 key
    assert Door().check(_with_pop(forged)).reason is ReasonCode.ALGORITHM_NOT_ALLOWED


def test_alg_in_unprotected_header_is_malformed() -> None:
    good = cbor2.loads(grant())
    moved = cbor2.dumps(
        cbor2.CBORTag(18, [cbor_strict.encode({4: KID}), {1: -8}, good.value[2], good.value[3]])
    )
    assert Door().check(_with_pop(moved)).reason is ReasonCode.MALFORMED


def test_bad_signature() -> None:
    data = bytearray(grant())
    data[-1] ^= 0x01
    decision = Door().check(_with_pop(bytes(data)))
    assert decision.reason is ReasonCode.BAD_SIGNATURE
    assert decision.claims is None and decision.grant_id == GRANT_ID


def test_grant_signed_by_untrusted_key_under_trusted_kid() -> None:
    forged = issue_grant(claims(), OTHER_KEY, KID)
    assert Door().check(_with_pop(forged)).reason is ReasonCode.BAD_SIGNATURE


def test_wrong_issuer() -> None:
    store = TrustStore.of([TrustedIssuerKey(KID, "someone-else", public_key_bytes(ISSUER_KEY))])
    assert Door(store=store).check(request()).reason is ReasonCode.WRONG_ISSUER


def test_wrong_door() -> None:
    assert Door(door_id="B12-SIDE").check(request()).reason is ReasonCode.WRONG_DOOR


def test_lifetime_too_long() -> None:
    long_lived = sign1(encode_claims(claims(expires_at=NOW + MAX_LIFETIME + 1)), ISSUER_KEY, KID)
    assert Door().check(_with_pop(long_lived)).reason is ReasonCode.LIFETIME_TOO_LONG


def test_issuer_refuses_lifetime_too_long() -> None:
    with pytest.raises(GrantError) as caught:
        issue_grant(claims(expires_at=NOW + MAX_LIFETIME + 1), ISSUER_KEY, KID)
    assert caught.value.reason is ReasonCode.LIFETIME_TOO_LONG


def test_not_yet_valid_respects_leeway() -> None:
    early = request(grant(issued_at=NOW + 100, not_before=NOW + 100, expires_at=NOW + 200))
    assert Door().check(early, now=NOW + 100 - DEFAULT_LEEWAY - 1).reason is ReasonCode.NOT_YET_VALID
    assert Door().check(early, now=NOW + 100 - DEFAULT_LEEWAY).accepted


def test_expired_respects_leeway() -> None:
    assert Door().check(request(), now=NOW + 120 + DEFAULT_LEEWAY).reason is ReasonCode.EXPIRED
    assert Door().check(request(), now=NOW + 120 + DEFAULT_LEEWAY - 1).accepted


def test_stolen_grant_without_handheld_key_fails_pop() -> None:
    thief = build_unlock_request(grant(), OTHER_KEY, CHALLENGE, DOOR_ID)
    door = Door()
    assert door.check(thief).reason is ReasonCode.POP_FAILED
    assert door.check(request()).accepted, "a refused thief must not burn the grant"


def test_captured_request_replayed_on_another_connection_fails_pop() -> None:
    captured = request()
    assert Door().check(captured, challenge=bytes(range(32))).reason is ReasonCode.POP_FAILED


def test_grant_already_used() -> None:
    door = Door()
    assert door.check(request()).accepted
    fresh_challenge = bytes(range(16))
    assert (
        door.check(request(challenge=fresh_challenge), challenge=fresh_challenge).reason
        is ReasonCode.GRANT_ALREADY_USED
    )


def test_builder_refuses_wrong_door_and_short_challenge() -> None:
    with pytest.raises(GrantError):
        build_unlock_request(grant(), HANDHELD_KEY, CHALLENGE, "B12-SIDE")
    with pytest.raises(DecodeError):
        build_unlock_request(grant(), HANDHELD_KEY, bytes(15), DOOR_ID)


def test_small_order_confirmation_key_is_weak_key_not_an_open_door() -> None:
    """The identity point as `cnf` makes R = identity, S = 0 "verify" for any message (old main opened)."""
    identity = bytes([1]) + bytes(31)
    forged = bytes(UnlockRequest(grant=grant(confirmation_key=identity), pop_signature=identity + bytes(32)))
    assert Door().check(forged).reason is ReasonCode.WEAK_KEY


def test_challenge_older_than_its_ttl_is_challenge_expired() -> None:
    door = Door()
    late = verify_unlock(
        request(),
        trusted_keys=door.store,
        door_id=DOOR_ID,
        challenge=CHALLENGE,
        replay_cache=door.cache,
        now=NOW + 5,
        challenge_age=CHALLENGE_TTL + 0.5,
    )
    assert late.reason is ReasonCode.CHALLENGE_EXPIRED and not door.cache.seen(GRANT_ID)
    in_time = verify_unlock(
        request(),
        trusted_keys=door.store,
        door_id=DOOR_ID,
        challenge=CHALLENGE,
        replay_cache=door.cache,
        now=NOW + 5,
        challenge_age=CHALLENGE_TTL - 0.5,
    )
    assert in_time.accepted


def test_every_door_reason_is_covered_by_a_test() -> None:
    # 30-49 answer maintenance statements and revocation: test_protocol_maintenance.py covers them.
    door_reasons = {r for r in ReasonCode if 1 <= r < 30}
    tested = {
        ReasonCode.MALFORMED, ReasonCode.TOO_LARGE, ReasonCode.UNSUPPORTED_VERSION, ReasonCode.NO_ACTIVE_CHALLENGE,
        ReasonCode.ALGORITHM_NOT_ALLOWED, ReasonCode.UNKNOWN_KEY, ReasonCode.BAD_SIGNATURE, ReasonCode.WRONG_ISSUER,
        ReasonCode.WRONG_DOOR, ReasonCode.LIFETIME_TOO_LONG, ReasonCode.NOT_YET_VALID, ReasonCode.EXPIRED,
        ReasonCode.POP_FAILED, ReasonCode.GRANT_ALREADY_USED,
    }  # fmt: skip
    tested |= {ReasonCode.WEAK_KEY, ReasonCode.CHALLENGE_EXPIRED}
    assert door_reasons == tested, "add a test above for each new door reason"
