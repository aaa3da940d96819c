"""Sizes of a typical grant and unlock request, and median times to issue and verify.

Run: PYTHONPATH=. python bench/protocol_bench.py  (takes a few seconds)
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable

from protocol import gatt
from protocol.grant import GrantClaims, issue_grant
from protocol.keys import TrustedIssuerKey, TrustStore, load_private_key, public_key_bytes
from protocol.reasons import Outcome, ReasonCode
from protocol.receipt import GENESIS_HASH, Receipt, sign_receipt
from protocol.replay import InMemoryReplayCache
from protocol.unlock import build_unlock_request
from protocol.verify import verify_unlock

RUNS = 500
NOW = 1_767_225_600
DOOR_ID = "B12-MAIN"
KID = b"as-2026a"


def median_us(action: Callable[[], object], runs: int = RUNS) -> float:
    samples: list[float] = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1e6


def main() -> None:
    issuer = load_private_key(os.urandom(32))
    handheld = load_private_key(os.urandom(32))
    door = load_private_key(os.urandom(32))
    store = TrustStore.of([TrustedIssuerKey(KID, "lobbykey-as", public_key_bytes(issuer))])
    challenge = os.urandom(32)

    def claims() -> GrantClaims:
        return GrantClaims.for_delivery(
            issuer="lobbykey-as", subject="drv-4f2a9c", door_id=DOOR_ID, stop_id="stop-0007",
            package_id="1Z999AA10123456784", carrier="ACME", confirmation_key=public_key_bytes(handheld),
            grant_id=os.urandom(16), now=NOW,
        )  # fmt: skip

    grant = issue_grant(claims(), issuer, KID)
    request = build_unlock_request(grant, handheld, challenge, DOOR_ID)
    receipt = sign_receipt(
        Receipt(DOOR_ID, 0, GENESIS_HASH, os.urandom(16), Outcome.UNLOCKED, ReasonCode.OK, NOW), door
    )
    result = bytes(gatt.UnlockResult(Outcome.UNLOCKED, ReasonCode.OK, receipt))

    def verify() -> None:
        decision = verify_unlock(request, trusted_keys=store, door_id=DOOR_ID, challenge=challenge,
                                 replay_cache=InMemoryReplayCache(), now=NOW + 5)  # fmt: skip
        assert decision.accepted

    print(f"grant:          {len(grant):4d} bytes")
    print(f"unlock request: {len(request):4d} bytes (ATT long-write cap 512)")
    print(f"receipt:        {len(receipt):4d} bytes; unlock result {len(result)} bytes")
    print(
        f"issue grant:    median {median_us(lambda: issue_grant(claims(), issuer, KID)):7.0f} us over {RUNS} runs"
    )
    print(
        f"build request:  median {median_us(lambda: build_unlock_request(grant, handheld, challenge, DOOR_ID)):7.0f} us"
    )
    print(f"verify request: median {median_us(verify):7.0f} us over {RUNS} runs")


if __name__ == "__main__":
    main()
