"""Whatever bytes arrive, the door refuses with a reason, writes a receipt and keeps its chain."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol.keys import public_key_bytes
from protocol.reasons import Outcome
from protocol.receipt import verify_chain, verify_receipt
from tests.door_support import (
    DOOR_ID,
    DOOR_KEY,
    FakeScheduler,
    Issuer,
    decided,
    door_config,
    fixed_key,
    make_controller,
    unlock_request,
)

HANDHELD = fixed_key()
ISSUER = Issuer()
GOOD_GRANT = ISSUER.grant(HANDHELD)


def _mutations() -> st.SearchStrategy[tuple[int, int]]:
    return st.tuples(st.integers(min_value=0, max_value=400), st.integers(min_value=1, max_value=255))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(garbage=st.binary(max_size=600), flips=st.lists(_mutations(), max_size=3))
def test_random_and_mutated_requests_never_open_the_door(
    garbage: bytes, flips: list[tuple[int, int]]
) -> None:
    with tempfile.TemporaryDirectory() as state:
        door = make_controller(door_config(Path(state), ISSUER), FakeScheduler())
        try:
            for mutate in (lambda _original: garbage, lambda original: _flip(original, flips)):
                session = door.open_session()
                original = unlock_request(GOOD_GRANT, HANDHELD, door.issue_challenge(session))
                request = mutate(original)
                attempt = decided(door, request, session)
                door.end_session(session)
                receipt = verify_receipt(attempt.receipt, public_key_bytes(DOOR_KEY))
                assert receipt.reason is attempt.reason
                if attempt.outcome is Outcome.UNLOCKED:
                    # Only the untouched request may open (two flips of one byte can cancel out).
                    assert request == original
            report = verify_chain(door.receipts(), public_key_bytes(DOOR_KEY), DOOR_ID)
            assert len(report.accepted) == 2 and report.breaks == () and report.gaps == ()
        finally:
            door.close()


def _flip(data: bytes, flips: list[tuple[int, int]]) -> bytes:
    mutated = bytearray(data)
    for position, mask in flips:
        mutated[position % len(mutated)] ^= mask
    return bytes(mutated)
