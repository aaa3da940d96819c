"""Fixed keys, ids and times shared by the protocol tests (deterministic, no randomness)."""

from __future__ import annotations

from dataclasses import dataclass, field

from protocol.grant import GrantClaims, issue_grant
from protocol.keys import TrustedIssuerKey, TrustStore, load_private_key, public_key_bytes
from protocol.reasons import Outcome, ReasonCode
from protocol.receipt import GENESIS_HASH, Receipt, receipt_digest, sign_receipt
from protocol.replay import InMemoryReplayCache
from protocol.unlock import build_unlock_request
from protocol.verify import UnlockDecision, verify_unlock

NOW = 1_767_225_600  # 2026-01-01T00:00:00Z
DOOR_ID = "B12-MAIN"
ISSUER = "lobbykey-as"
KID = b"as-2026a"
ISSUER_KEY = load_private_key(bytes(range(32)))
HANDHELD_KEY = load_private_key(bytes(range(32, 64)))
DOOR_KEY = load_private_key(bytes(range(64, 96)))
OTHER_KEY = load_private_key(bytes(range(96, 128)))
GRANT_ID = bytes.fromhex("0f1e2d3c4b5a69788796a5b4c3d2e1f0")
CHALLENGE = bytes.fromhex("a0" * 32)


def claims(**changes: object) -> GrantClaims:
    base = {
        "issuer": ISSUER,
        "subject": "drv-4f2a9c",
        "door_id": DOOR_ID,
        "issued_at": NOW,
        "not_before": NOW,
        "expires_at": NOW + 120,
        "grant_id": GRANT_ID,
        "stop_id": "stop-0007",
        "package_id": "1Z999AA10123456784",
        "carrier": "ACME",
        "confirmation_key": public_key_bytes(HANDHELD_KEY),
    }
    base.update(changes)
    return GrantClaims(**base)  # type: ignore[arg-type]


def trust(issuer: str = ISSUER) -> TrustStore:
    return TrustStore.of([TrustedIssuerKey(kid=KID, issuer=issuer, public_key=public_key_bytes(ISSUER_KEY))])


def grant(**changes: object) -> bytes:
    return issue_grant(claims(**changes), ISSUER_KEY, KID)


def request(grant_bytes: bytes | None = None, challenge: bytes = CHALLENGE) -> bytes:
    return build_unlock_request(
        grant() if grant_bytes is None else grant_bytes, HANDHELD_KEY, challenge, DOOR_ID
    )


@dataclass
class Door:
    """A door's verifier state as the tests need it."""

    store: TrustStore = field(default_factory=trust)
    cache: InMemoryReplayCache = field(default_factory=InMemoryReplayCache)
    door_id: str = DOOR_ID

    def check(
        self, data: bytes, *, challenge: bytes | None = CHALLENGE, now: int = NOW + 5
    ) -> UnlockDecision:
        return verify_unlock(
            data,
            trusted_keys=self.store,
            door_id=self.door_id,
            challenge=challenge,
            replay_cache=self.cache,
            now=now,
        )


DOOR_PUB = public_key_bytes(DOOR_KEY)


def chain(count: int, door_id: str = DOOR_ID) -> list[bytes]:
    """`count` consecutive receipts from genesis, alternating outcomes."""
    out: list[bytes] = []
    prev = GENESIS_HASH
    for seq in range(count):
        accepted = seq % 2 == 0
        receipt = Receipt(
            door_id=door_id,
            seq=seq,
            prev_hash=prev,
            grant_id=GRANT_ID if accepted else None,
            outcome=Outcome.UNLOCKED if accepted else Outcome.REFUSED,
            reason=ReasonCode.OK if accepted else ReasonCode.MALFORMED,
            door_time=NOW + seq,
        )
        out.append(sign_receipt(receipt, DOOR_KEY))
        prev = receipt_digest(out[-1])
    return out
