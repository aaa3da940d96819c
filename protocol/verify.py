"""The door's decision: does this unlock request open this door, now, on this connection?

Checks run cheapest-first and the first failure decides the reason code. Nothing is
trusted before the issuer signature verifies; the replay cache is written only when the
request is accepted, so refused attempts can never lock a legitimate driver out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from protocol.errors import ProtocolError
from protocol.grant import MAX_LIFETIME, GrantClaims, decode_claims, parse_grant
from protocol.keys import TrustStore, load_public_key, verify_strict
from protocol.reasons import ReasonCode
from protocol.replay import ReplayCache
from protocol.sign1 import verify_sign1
from protocol.unlock import CHALLENGE_MAX, CHALLENGE_MIN, CHALLENGE_TTL, UnlockRequest, pop_payload

__all__ = ["DEFAULT_LEEWAY", "UnlockDecision", "verify_unlock"]

DEFAULT_LEEWAY = 30


@dataclass(frozen=True)
class UnlockDecision:
    """The verifier's typed outcome.

    `grant_id` is the id the grant claims as soon as its payload decodes (useful in
    receipts even for refusals, but unauthenticated unless `claims` is set); `claims` is
    set only once the issuer's signature has verified.
    """

    reason: ReasonCode
    grant_id: bytes | None = None
    claims: GrantClaims | None = None

    @property
    def accepted(self) -> bool:
        return self.reason is ReasonCode.OK


def _decode_claims(payload: bytes) -> GrantClaims | None:
    """The claims, decoded once: before the signature check only their grant id is used."""
    try:
        return decode_claims(payload)
    except ProtocolError:
        return None


def verify_unlock(
    request_bytes: bytes,
    *,
    trusted_keys: TrustStore,
    door_id: str,
    challenge: bytes | None,
    replay_cache: ReplayCache,
    now: int,
    leeway: int = DEFAULT_LEEWAY,
    challenge_age: float = 0.0,
    challenge_ttl: float = CHALLENGE_TTL,
    open_grant: Callable[[bytes], bytes] | None = None,
) -> UnlockDecision:
    """Decide on one unlock request. Never raises; the caller must retire `challenge` after.

    `challenge_age` is how long ago (seconds, on a monotonic clock) the door drew `challenge`;
    a door may answer challenges for less than the protocol's `CHALLENGE_TTL`, never longer.
    `open_grant` unseals the grant (SPEC section 15) for a door that requires sealed grants.
    """
    try:
        request = UnlockRequest.from_bytes(request_bytes)
    except ProtocolError as err:
        return UnlockDecision(err.reason)
    if challenge is None or not CHALLENGE_MIN <= len(challenge) <= CHALLENGE_MAX:
        return UnlockDecision(ReasonCode.NO_ACTIVE_CHALLENGE)
    if not 0 <= challenge_age <= min(challenge_ttl, CHALLENGE_TTL):
        return UnlockDecision(ReasonCode.CHALLENGE_EXPIRED)
    try:
        envelope = parse_grant(request.grant if open_grant is None else open_grant(request.grant))
    except ProtocolError:
        return UnlockDecision(ReasonCode.MALFORMED)
    claims = _decode_claims(envelope.payload)
    grant_id = None if claims is None else claims.grant_id

    issuer_key = trusted_keys.get(envelope.kid)
    if issuer_key is None:
        return UnlockDecision(ReasonCode.UNKNOWN_KEY, grant_id)
    if envelope.alg != issuer_key.alg:
        return UnlockDecision(ReasonCode.ALGORITHM_NOT_ALLOWED, grant_id)
    if not verify_sign1(envelope, issuer_key.cose_key):
        return UnlockDecision(ReasonCode.BAD_SIGNATURE, grant_id)
    if claims is None:
        return UnlockDecision(ReasonCode.MALFORMED, grant_id)

    def decide(reason: ReasonCode) -> UnlockDecision:
        return UnlockDecision(reason, claims.grant_id, claims)

    if claims.issuer != issuer_key.issuer:
        return decide(ReasonCode.WRONG_ISSUER)
    if claims.door_id != door_id:
        return decide(ReasonCode.WRONG_DOOR)
    if claims.lifetime > MAX_LIFETIME:
        return decide(ReasonCode.LIFETIME_TOO_LONG)
    if now + leeway < claims.not_before:
        return decide(ReasonCode.NOT_YET_VALID)
    if now - leeway >= claims.expires_at:
        return decide(ReasonCode.EXPIRED)
    try:
        load_public_key(claims.confirmation_key)
    except ProtocolError:
        return decide(ReasonCode.WEAK_KEY)
    proof = pop_payload(challenge, door_id, claims.grant_id)
    if not verify_strict(claims.confirmation_key, request.pop_signature, proof):
        return decide(ReasonCode.POP_FAILED)
    if replay_cache.seen(claims.grant_id):
        return decide(ReasonCode.GRANT_ALREADY_USED)
    replay_cache.remember(claims.grant_id, claims.expires_at + leeway)
    return decide(ReasonCode.OK)
