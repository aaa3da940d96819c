"""The door logic with no radio: every verifier refusal, receipts, persistence, faults."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import cbor2
import pytest

from mock_building.door.controller import DoorController
from mock_building.door.errors import DoorError, DoorErrorReason
from mock_building.door.faults import DoorFaults
from mock_building.door.state import DoorState
from mock_building.door.store import DoorStore
from protocol import cbor_strict
from protocol.gatt import UnlockResult
from protocol.keys import public_key_bytes
from protocol.reasons import Outcome, ReasonCode
from protocol.receipt import decode_receipt, verify_chain, verify_receipt
from tests.door_support import (
    DOOR_ID,
    DOOR_KEY,
    NOW,
    FakeScheduler,
    Issuer,
    decided,
    door_config,
    fixed_key,
    make_controller,
    unlock_request,
)

HANDHELD = fixed_key()
OTHER_HANDHELD = fixed_key()
STRANGER = Issuer(name="other.example")
IMPOSTOR_KEY = fixed_key()

RequestFor = Callable[[bytes], bytes]


@pytest.fixture
def issuer() -> Issuer:
    return Issuer()


@pytest.fixture
def clock() -> FakeScheduler:
    return FakeScheduler()


@pytest.fixture
def door(tmp_path: Path, issuer: Issuer, clock: FakeScheduler) -> Iterator[DoorController]:
    controller = make_controller(door_config(tmp_path, issuer), clock)
    yield controller
    controller.close()


def attempt(door: DoorController, request_for: RequestFor) -> tuple[ReasonCode, Outcome, bytes]:
    """One connection: open a session, answer its challenge, hand the request to the door."""
    session = door.open_session()
    result = decided(door, request_for(door.issue_challenge(session)), session)
    door.end_session(session)
    return result.reason, result.outcome, result.receipt


def valid(issuer: Issuer, grant: bytes | None = None) -> RequestFor:
    grant = grant or issuer.grant(HANDHELD)
    return lambda challenge: unlock_request(grant, HANDHELD, challenge)


def with_alg(grant: bytes, alg: int) -> bytes:
    """The same grant with another alg in its protected header."""
    protected, unprotected, payload, signature = cbor2.loads(grant).value
    header = cbor2.loads(protected) | {1: alg}
    return cbor_strict.encode(
        cbor2.CBORTag(18, [cbor_strict.encode(header), unprotected, payload, signature])
    )


def refusals(issuer: Issuer) -> dict[ReasonCode, RequestFor]:
    """One request per refusal reason of the verifier (GRANT_ALREADY_USED and
    NO_ACTIVE_CHALLENGE need state and have their own tests)."""
    grant = issuer.grant(HANDHELD)
    return {
        ReasonCode.MALFORMED: lambda c: b"\xa1\x00",
        ReasonCode.TOO_LARGE: lambda c: b"\x00" * 600,
        ReasonCode.UNSUPPORTED_VERSION: lambda c: cbor_strict.encode({0: 99, 1: grant, 2: bytes(64)}),
        ReasonCode.UNKNOWN_KEY: valid(STRANGER),
        ReasonCode.ALGORITHM_NOT_ALLOWED: valid(issuer, with_alg(grant, -7)),
        ReasonCode.BAD_SIGNATURE: valid(issuer, issuer.grant(HANDHELD, signed_by=IMPOSTOR_KEY)),
        ReasonCode.WRONG_ISSUER: valid(issuer, issuer.grant(HANDHELD, claimed_issuer="other.example")),
        ReasonCode.WRONG_DOOR: lambda c: unlock_request(
            issuer.grant(HANDHELD, door_id="OAK-S"), HANDHELD, c, "OAK-S"
        ),
        ReasonCode.LIFETIME_TOO_LONG: valid(issuer, issuer.grant(HANDHELD, lifetime=301)),
        ReasonCode.NOT_YET_VALID: valid(issuer, issuer.grant(HANDHELD, now=NOW + 600)),
        ReasonCode.EXPIRED: valid(issuer, issuer.grant(HANDHELD, now=NOW - 600)),
        ReasonCode.POP_FAILED: lambda c: unlock_request(grant, OTHER_HANDHELD, c),
    }


def test_valid_request_opens_then_relocks(door: DoorController, issuer: Issuer, clock: FakeScheduler) -> None:
    states: list[DoorState] = []
    door.subscribe(states.append)
    reason, outcome, receipt = attempt(door, valid(issuer))
    assert (reason, outcome) == (ReasonCode.OK, Outcome.UNLOCKED)
    assert door.state.locked is False and door.state.relock_at == NOW + 5.0
    assert (door.state.last_outcome, door.state.last_reason) == (Outcome.UNLOCKED, ReasonCode.OK)
    clock.advance(4.9)
    assert door.state.locked is False
    clock.advance(0.2)
    assert door.state.locked is True and door.state.relock_at is None
    assert any(not s.locked for s in states) and states[-1].locked
    decoded = verify_receipt(receipt, public_key_bytes(DOOR_KEY))
    assert (decoded.outcome, decoded.seq, decoded.door_time, decoded.door_id) == (
        Outcome.UNLOCKED,
        0,
        NOW,
        DOOR_ID,
    )


def test_result_message_carries_reason_and_receipt(door: DoorController, issuer: Issuer) -> None:
    session = door.open_session()
    attempt_ = decided(door, valid(issuer)(door.issue_challenge(session)), session)
    result = UnlockResult.from_bytes(attempt_.result)
    assert result.reason == ReasonCode.OK and result.receipt == attempt_.receipt
    assert result.open_seconds == 5  # door_config holds open for 5.0 s


def test_open_seconds_is_the_hold_open_time_rounded_down(
    tmp_path: Path, issuer: Issuer, clock: FakeScheduler
) -> None:
    door = make_controller(door_config(tmp_path, issuer, hold_open_s=7.9), clock)
    session = door.open_session()
    result = UnlockResult.from_bytes(
        decided(door, valid(issuer)(door.issue_challenge(session)), session).result
    )
    door.close()
    assert result.open_seconds == 7


def test_a_refusal_or_a_jam_carries_no_open_seconds(door: DoorController, issuer: Issuer) -> None:
    session = door.open_session()
    refused = decided(door, b"\x00", session)
    door.faults.set(jammed=True)
    jammed = decided(door, valid(issuer)(door.issue_challenge(session)), session)
    assert UnlockResult.from_bytes(refused.result).open_seconds is None
    assert UnlockResult.from_bytes(jammed.result).open_seconds is None
    assert UnlockResult.from_bytes(jammed.result).reason is ReasonCode.DOOR_JAMMED


@pytest.mark.parametrize("reason", list(refusals(Issuer())))
def test_every_refusal_surfaces_in_result_and_receipt(
    door: DoorController, issuer: Issuer, reason: ReasonCode
) -> None:
    got, outcome, receipt = attempt(door, refusals(issuer)[reason])
    assert (got, outcome) == (reason, Outcome.REFUSED)
    decoded = verify_receipt(receipt, public_key_bytes(DOOR_KEY))
    assert decoded.reason is reason and decoded.outcome is Outcome.REFUSED
    if reason in (ReasonCode.MALFORMED, ReasonCode.TOO_LARGE, ReasonCode.UNSUPPORTED_VERSION):
        assert decoded.grant_id is None
    else:
        assert decoded.grant_id is not None
    assert door.state.locked is True


def test_replay_on_another_connection_is_refused(door: DoorController, issuer: Issuer) -> None:
    grant = issuer.grant(HANDHELD)
    assert attempt(door, valid(issuer, grant))[0] is ReasonCode.OK
    assert attempt(door, valid(issuer, grant))[0] is ReasonCode.GRANT_ALREADY_USED


def test_captured_request_fails_on_a_new_challenge(door: DoorController, issuer: Issuer) -> None:
    first = door.open_session()
    captured = valid(issuer)(door.issue_challenge(first))
    door.end_session(first)
    assert attempt(door, lambda c: captured)[0] is ReasonCode.POP_FAILED


def test_challenge_is_single_use_and_dies_with_the_session(door: DoorController, issuer: Issuer) -> None:
    grant = issuer.grant(HANDHELD)
    session = door.open_session()
    assert decided(door, valid(issuer, grant)(bytes(32)), session).reason is ReasonCode.NO_ACTIVE_CHALLENGE
    stale = door.issue_challenge(session)
    fresh = door.issue_challenge(session)
    assert stale != fresh
    assert decided(door, valid(issuer, grant)(stale), session).reason is ReasonCode.POP_FAILED
    assert decided(door, valid(issuer, grant)(fresh), session).reason is ReasonCode.NO_ACTIVE_CHALLENGE
    request = valid(issuer, grant)(door.issue_challenge(session))
    door.end_session(session)
    assert decided(door, request, session).reason is ReasonCode.NO_ACTIVE_CHALLENGE
    with pytest.raises(DoorError) as err:
        door.issue_challenge(session)
    assert err.value.reason is DoorErrorReason.SESSION_CLOSED


def test_receipts_chain_over_every_attempt(door: DoorController, issuer: Issuer) -> None:
    for request_for in [valid(issuer), *refusals(issuer).values(), valid(issuer)]:
        attempt(door, request_for)
    bodies = door.receipts()
    report = verify_chain(bodies, public_key_bytes(DOOR_KEY), DOOR_ID)
    assert len(report.accepted) == len(bodies) == 14
    assert report.gaps == () and report.breaks == () and report.rejected == ()


def test_state_survives_a_restart(tmp_path: Path, issuer: Issuer, clock: FakeScheduler) -> None:
    config = door_config(tmp_path, issuer)
    grant = issuer.grant(HANDHELD)
    first = make_controller(config, clock)
    assert attempt(first, valid(issuer, grant))[0] is ReasonCode.OK
    attempt(first, refusals(issuer)[ReasonCode.MALFORMED])
    first.close()

    second = make_controller(config, clock)
    assert second.state.last_seq == 1
    reason, _, receipt = attempt(second, valid(issuer, grant))
    assert reason is ReasonCode.GRANT_ALREADY_USED
    assert decode_receipt(receipt).seq == 2
    report = verify_chain(second.receipts(), public_key_bytes(DOOR_KEY), DOOR_ID)
    assert [r.seq for r in report.accepted] == [0, 1, 2] and report.breaks == ()
    second.close()


def test_jammed_door_accepts_but_stays_shut(door: DoorController, issuer: Issuer) -> None:
    grant = issuer.grant(HANDHELD)
    states: list[DoorState] = []
    door.subscribe(states.append)
    door.faults.set(jammed=True)
    assert states[-1].faults == (("jammed", True),)
    reason, outcome, receipt = attempt(door, valid(issuer, grant))
    assert (reason, outcome) == (ReasonCode.DOOR_JAMMED, Outcome.FAULT)
    assert door.state.locked is True
    assert decode_receipt(receipt).reason is ReasonCode.DOOR_JAMMED
    door.faults.set(jammed=False)
    assert attempt(door, valid(issuer, grant))[0] is ReasonCode.GRANT_ALREADY_USED


def test_clock_skew_moves_the_door_clock(door: DoorController, issuer: Issuer) -> None:
    door.faults.set(clock_skew_s=3600)
    reason, _, receipt = attempt(door, valid(issuer))
    assert reason is ReasonCode.EXPIRED
    assert decode_receipt(receipt).door_time == NOW + 3600
    door.faults.set(clock_skew_s=-20)
    assert attempt(door, valid(issuer))[0] is ReasonCode.OK


def test_wrong_issuer_key_refuses_good_grants(door: DoorController, issuer: Issuer) -> None:
    door.faults.set(wrong_issuer_key=True)
    assert attempt(door, valid(issuer))[0] is ReasonCode.BAD_SIGNATURE
    door.faults.set(wrong_issuer_key=False)
    assert attempt(door, valid(issuer))[0] is ReasonCode.OK


def test_faults_are_validated() -> None:
    faults = DoorFaults(slow_ms=250)
    with pytest.raises(DoorError) as unknown:
        faults.set(on_fire=True)
    assert unknown.value.reason is DoorErrorReason.UNKNOWN_FAULT
    with pytest.raises(DoorError) as bad:
        faults.set(slow_ms=-1)
    assert bad.value.reason is DoorErrorReason.BAD_FAULT_VALUE
    assert faults.active() == {"slow_ms": 250}


def test_bad_config_is_refused(tmp_path: Path, issuer: Issuer) -> None:
    with pytest.raises(DoorError) as err:
        door_config(tmp_path, issuer, door_id="far-too-long-id")
    assert err.value.reason is DoorErrorReason.BAD_CONFIG


def test_receipt_and_used_grant_are_on_disk_before_the_result(
    door: DoorController, issuer: Issuer, tmp_path: Path
) -> None:
    """A power cut right after handle_unlock returns must not let the grant open the door again."""
    grant = issuer.grant(HANDHELD)
    _, _, receipt = attempt(door, valid(issuer, grant))
    grant_id = decode_receipt(receipt).grant_id
    assert grant_id is not None
    other_reader = DoorStore(tmp_path)  # a second connection sees only committed data
    try:
        assert other_reader.seen(grant_id)
        assert other_reader.last_receipt() == (0, receipt)
    finally:
        other_reader.close()


def test_refusals_do_not_consume_the_grant(door: DoorController, issuer: Issuer) -> None:
    grant = issuer.grant(HANDHELD)
    assert attempt(door, lambda c: unlock_request(grant, OTHER_HANDHELD, c))[0] is ReasonCode.POP_FAILED
    assert attempt(door, valid(issuer, grant))[0] is ReasonCode.OK


def test_state_dir_that_cannot_be_used_is_a_door_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(DoorError) as err:
        DoorStore(blocker)
    assert err.value.reason is DoorErrorReason.STATE_DIR_UNUSABLE
