"""Every reason code the driver can meet has its own short message and next action."""

from __future__ import annotations

import pytest

from driver_app.core.errors import AccessRefused, ClientReason, InsecureConnection
from driver_app.core.messages import NoticeContext, known_reasons, notice_for, notice_for_error
from protocol.reasons import ReasonCode

ALL_CODES = [code.slug for code in ReasonCode] + [str(code) for code in ClientReason]


@pytest.mark.parametrize("code", ALL_CODES)
def test_every_code_has_a_specific_short_message_and_action(code: str) -> None:
    notice = notice_for(code)
    assert notice.reason == code
    assert "Refused (" not in notice.message  # not the fallback
    assert 0 < len(notice.message) <= 60 and 0 < len(notice.next_action) <= 60
    assert "{" not in notice.message + notice.next_action


def test_the_table_has_no_codes_nobody_produces() -> None:
    assert known_reasons() == set(ALL_CODES)


def test_an_unknown_code_still_gives_a_usable_notice() -> None:
    notice = notice_for("brand_new_reason_from_a_newer_service")
    assert "brand_new_reason_from_a_newer_service" in notice.message
    assert notice.next_action


def test_wrong_door_names_the_doors_to_choose() -> None:
    context = NoticeContext(door_name="South entrance", other_door_names=("North entrance",))
    notice = notice_for("wrong_door", context)
    assert notice.message == "This access is for another door"
    assert notice.next_action == "Choose North entrance"
    assert notice_for("wrong_door").next_action == "Choose another door of this building"


def test_the_door_that_opened_or_jammed_is_named() -> None:
    context = NoticeContext(door_name="North entrance")
    assert notice_for("ok", context).message == "Door open: North entrance"
    assert notice_for("door_jammed", context).message == "The door accepted but did not open: North entrance"


# Refusals that come back the same on every retry, rescan or wait (trust, clock, policy, device):
# their advice must not send the driver round that loop.
DETERMINISTIC = [
    "bad_signature",
    "unknown_key",
    "wrong_issuer",
    "algorithm_not_allowed",
    "carrier_not_accepted",
    "expired",
    "not_yet_valid",
    "lifetime_too_long",
    "unsupported_version",
    "too_large",
    "revoked",
    "forbidden",
    "outside_delivery_window",
    "stop_completed",
    "radio_unavailable",
    "outbox_read_only",
    "insecure_keyring",
    "unknown_handheld",
]
FUTILE = ("scan", "press unlock", "try again", "retry", "wait", "walk closer", "free some storage")


@pytest.mark.parametrize("code", DETERMINISTIC)
def test_no_advice_recommends_what_cannot_change_the_outcome(code: str) -> None:
    action = notice_for(code).next_action.lower()
    assert not [word for word in FUTILE if word in action], action


def test_every_deterministic_code_is_a_real_code() -> None:
    assert set(DETERMINISTIC) <= known_reasons()


def test_a_door_clock_off_says_report_the_door_and_the_fallback() -> None:
    for code in ("expired", "not_yet_valid"):
        notice = notice_for(code)
        assert "clock" in notice.message and "locker or reception" in notice.next_action


def test_no_radio_and_no_door_heard_are_different_messages() -> None:
    assert notice_for("radio_unavailable").message != notice_for("door_not_found").message
    assert "closer" in notice_for("door_not_found").next_action


def test_read_only_and_full_storage_are_different_messages() -> None:
    assert notice_for("outbox_read_only").next_action != notice_for("outbox_full").next_action
    assert "storage" in notice_for("outbox_full").next_action


def test_retrying_is_said_with_the_wait() -> None:
    notice = notice_for("service_unreachable", NoticeContext(retry_in=2.0), retrying=True)
    assert notice.retrying and notice.next_action == "Retrying in 2 s…"


def test_an_error_notice_carries_the_host_and_when_a_lock_ends() -> None:
    tls = notice_for_error(InsecureConnection("access.example.com", "certificate verify failed"))
    assert tls.message == "Secure connection failed to access.example.com"
    locked = notice_for_error(
        AccessRefused("account_locked", "this account is locked until 2026-11-23T12:15:00Z")
    )
    assert locked.message == "Too many failed sign-ins: this account is locked until 2026-11-23T12:15:00Z"
    assert locked.next_action == "Wait until the lock ends, then sign in"
