"""Sizes of a typical grant and unlock request, and how close issuing and verifying are to the floor.

The floor is measured in the same run, taking turns with the protocol calls so load on the machine
hits both alike, once in blocks of calls to one operation (warm caches) and once one call of each
operation in turn (mixed, closer to a server doing other work in between): one plain Ed25519 signature (cryptography) of a message as long as the grant for
`issue_grant`, and two plain verifies (the grant-sized issuer signature and the PoP-sized proof) for
`verify_unlock`. Goals (issue 13): issue ≤ 2.0× its floor, verify ≤ 1.3× its floor.

Run: PYTHONPATH=. python bench/protocol_bench.py [--runs N]  (takes a few seconds)
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from protocol import gatt
from protocol.grant import GrantClaims, issue_grant
from protocol.keys import TrustedIssuerKey, TrustStore, load_private_key, public_key_bytes
from protocol.reasons import Outcome, ReasonCode
from protocol.receipt import GENESIS_HASH, Receipt, sign_receipt
from protocol.replay import InMemoryReplayCache
from protocol.unlock import build_unlock_request, pop_payload
from protocol.verify import verify_unlock

NOW = 1_767_225_600
DOOR_ID = "B12-MAIN"
KID = b"as-2026a"
GOALS = {"issue_grant": 2.0, "verify_unlock": 1.3}
WARM_BLOCK = 100


def _medians(actions: dict[str, Callable[[], object]], runs: int, block: int) -> dict[str, float]:
    """Median time of each action, taking turns in blocks of `block` calls until each ran `runs` times."""
    samples: dict[str, list[float]] = {name: [] for name in actions}
    for _ in range(runs // block):
        for name, action in actions.items():
            for _ in range(block):
                start = time.perf_counter()
                action()
                samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) * 1e6 for name, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Grant and unlock sizes, and issue/verify time against the Ed25519 floor."
    )
    parser.add_argument("--runs", type=int, default=1000, help="runs of each operation in each mode")
    runs = parser.parse_args().runs

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

    # Fresh claims (new grant ids) and replay caches are made outside the timed region.
    pending_claims = [claims() for _ in range(2 * runs)]
    caches = [InMemoryReplayCache() for _ in range(2 * runs)]
    message = os.urandom(len(grant))
    signature = issuer.sign(message)
    proof = pop_payload(challenge, DOOR_ID, b"\x00" * 16)
    proof_signature = handheld.sign(proof)
    issuer_public, handheld_public = issuer.public_key(), handheld.public_key()

    def verify() -> None:
        decision = verify_unlock(request, trusted_keys=store, door_id=DOOR_ID, challenge=challenge,
                                 replay_cache=caches.pop(), now=NOW + 5)  # fmt: skip
        assert decision.accepted

    def two_verifies() -> None:
        issuer_public.verify(signature, message)
        handheld_public.verify(proof_signature, proof)

    actions: dict[str, Callable[[], object]] = {
        "plain sign": lambda: issuer.sign(message),
        "issue_grant": lambda: issue_grant(pending_claims.pop(), issuer, KID),
        "2 plain verifies": two_verifies,
        "verify_unlock": verify,
        "build request": lambda: build_unlock_request(grant, handheld, challenge, DOOR_ID),
    }
    modes = {"warm": WARM_BLOCK, "mixed": 1}
    median = {mode: _medians(actions, runs, block) for mode, block in modes.items()}

    print(f"grant:          {len(grant):4d} bytes")
    print(f"unlock request: {len(request):4d} bytes (ATT long-write cap 512)")
    print(f"receipt:        {len(receipt):4d} bytes; unlock result {len(result)} bytes")
    print(
        f"\nmedian us of {runs} runs each; warm: blocks of {WARM_BLOCK} calls of one operation in turn, "
        "mixed: one call of each in turn"
    )
    print(f"  {'':18s} {'warm':>7s} {'mixed':>7s}")
    for name in actions:
        print(f"  {name:18s} {median['warm'][name]:7.1f} {median['mixed'][name]:7.1f}")
    print(f"\n  {'ratio to floor':18s} {'warm':>7s} {'mixed':>7s} {'goal':>7s}")
    for name, floor in (("issue_grant", "plain sign"), ("verify_unlock", "2 plain verifies")):
        ratios = [median[mode][name] / median[mode][floor] for mode in modes]
        verdicts = " ".join("ok" if ratio <= GOALS[name] else "OVER" for ratio in ratios)
        print(f"  {name:18s} {ratios[0]:6.2f}x {ratios[1]:6.2f}x {GOALS[name]:6.1f}x  {verdicts}")
    print(f"\nload average: {Path('/proc/loadavg').read_text().strip()}")


if __name__ == "__main__":
    main()
