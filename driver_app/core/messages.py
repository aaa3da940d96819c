"""Every reason code the service, the door or the handheld can produce → a short message + next action.

Drivers read these at a door with a parcel in hand: one line saying what happened, one saying what to do.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from driver_app.core.errors import WorkflowError
from driver_app.core.state import Notice


@dataclass(frozen=True)
class NoticeContext:
    """Facts that make a message specific (which door, which stop) when the caller knows them."""

    door_name: str | None = None
    other_door_names: tuple[str, ...] = ()
    stop_label: str | None = None
    retry_in: float | None = None
    host: str | None = None


_CALL_DISPATCH = "Call dispatch"
# Refusals that come back the same however often the driver rescans or presses unlock: say so.
_CARRIER_NOT_TRUSTED = "Call support; leave at the locker or safe place"
_DOOR_CLOCK = "Report the door; leave at the locker or reception"
_SIGN_IN = "Sign in again"
_TRY_AGAIN = "Press unlock to try again"
_CHECK_CAMERA = "Check the camera setting, or type the barcode"

# reason code → (message, next action). Keys are the protocol's stable snake_case codes plus the
# handheld's own (`errors.ClientReason`); a test checks that every code of both has an entry.
_TABLE: dict[str, tuple[str, str]] = {
    # door outcomes
    "ok": ("Door open", "Deliver the parcels"),
    "malformed": ("The door could not read the request", _TRY_AGAIN),
    "too_large": ("The request was too large for the door", _CALL_DISPATCH),
    "unsupported_version": ("This door speaks another protocol version", _CALL_DISPATCH),
    "bad_signature": ("The door does not trust this carrier's access", _CARRIER_NOT_TRUSTED),
    "unknown_key": ("The door does not know this carrier's key", _CARRIER_NOT_TRUSTED),
    "wrong_issuer": ("The door does not accept this carrier", _CARRIER_NOT_TRUSTED),
    "algorithm_not_allowed": ("The door does not trust this carrier's access", _CARRIER_NOT_TRUSTED),
    "wrong_door": ("This access is for another door", "Choose {other_doors}"),
    # Every press of unlock fetches a fresh access, so a door calling it expired or not yet valid
    # has a clock that is off: waiting or rescanning cannot help.
    "expired": ("The door's clock is ahead: new access looks expired", _DOOR_CLOCK),
    "not_yet_valid": ("The door's clock is behind: access not valid yet", _DOOR_CLOCK),
    "lifetime_too_long": ("The door refused an access that lasts too long", _CALL_DISPATCH),
    "grant_already_used": ("This access was already used", "Press unlock for a new access"),
    "pop_failed": ("The door could not confirm this handheld", "Sign in again on this handheld"),
    "no_active_challenge": ("The door lost the connection state", _TRY_AGAIN),
    "door_jammed": ("The door accepted but did not open", "Push the door, or call dispatch"),
    "door_busy": ("The door is busy", _TRY_AGAIN),
    "weak_key": ("This handheld's key cannot be used", "Sign in again on this handheld"),
    "challenge_expired": ("The door's challenge timed out", _TRY_AGAIN),
    "grant_revoked": ("This access was revoked", _CALL_DISPATCH),
    "receipt_store_full": (
        "The door's log is full until the service collects it",
        "Sync this handheld, then press unlock again",
    ),
    # the door's answers to maintenance statements a phone relayed (SPEC section 14)
    "statement_malformed": ("The door could not read an update it was carrying", "Nothing to do"),
    "statement_unsigned": ("The door refused an unsigned update", "Nothing to do"),
    "statement_unknown_signer": ("The door refused an update from an unknown signer", "Nothing to do"),
    "statement_bad_signature": ("The door refused an update with a bad signature", "Nothing to do"),
    "statement_not_authorized": ("The door refused an update its signer may not make", "Nothing to do"),
    "statement_wrong_door": ("An update was meant for another door", "Nothing to do"),
    "statement_replayed": ("The door already had this update", "Nothing to do"),
    "statement_stale": ("The door already had a newer update", "Nothing to do"),
    "clock_step_refused": ("The door refused to turn its clock back that far", _CALL_DISPATCH),
    "trust_change_refused": ("The door refused a carrier-key change", _CALL_DISPATCH),
    # access-service refusals
    "not_authenticated": ("You are signed out", _SIGN_IN),
    "invalid_credentials": ("Driver id or password not recognised", "Check them and sign in again"),
    "token_expired": ("Your session expired", _SIGN_IN),
    "not_on_route": ("This stop is not on your route today", "Check the route, or call dispatch"),
    "stop_completed": ("This stop is already delivered", "Go to the next stop"),
    "package_not_for_stop": ("This parcel is not for this stop", "Check the label and scan again"),
    "door_not_for_stop": ("This door is not at this stop's building", "Choose {other_doors}"),
    "forbidden": ("Not allowed for this driver", _CALL_DISPATCH),
    "carrier_not_accepted": (
        "This building does not accept your carrier's access",
        "Leave at the safe place, or call support",
    ),
    "conflict": ("The service already has a different record of this", "Reload the route"),
    "internal_error": ("The access service failed", "Wait, then try again"),
    # the service's checks of relayed receipts (shown when a sync reports them)
    "receipt_bad_signature": ("A door receipt did not verify", _CALL_DISPATCH),
    "receipt_wrong_door": ("A door receipt names another door", _CALL_DISPATCH),
    "receipt_duplicate": ("Door receipt already relayed", "Nothing to do"),
    "receipt_gap": ("Some door receipts are missing", "Nothing to do: the building is told"),
    "chain_broken": ("Door receipts do not chain", _CALL_DISPATCH),
    "unknown_door": ("The service does not know this door", _CALL_DISPATCH),
    # building alerts (the building's manager sees them; a held receipt may carry one as its reason)
    "chain_fork": ("A door receipt contradicts the door's history", _CALL_DISPATCH),
    "unknown_grant": ("A door receipt names an access the service never gave", _CALL_DISPATCH),
    "grant_without_receipt": ("An access was never used at the door", "Nothing to do: the building is told"),
    "revoked_grant_used": ("This access had been revoked", _CALL_DISPATCH),
    "door_forced": ("The door reported being forced open", _CALL_DISPATCH),
    "door_held_open": ("The door reported being held open", "Close the door behind you"),
    "unlocked_not_opened": (
        "The door unlocked but was not opened",
        "Press unlock again if you still need it",
    ),
    "already_delivered": ("This parcel is already recorded as delivered", "Nothing to do: kept for review"),
    "outside_delivery_window": (
        "Outside this stop's delivery window",
        "Come back within the window shown on the stop",
    ),
    "rate_limited": ("Too many requests", "Wait a moment, then try again"),
    "revoked": ("Access for this driver or handheld was revoked", _CALL_DISPATCH),
    "unknown_handheld": ("This handheld is not registered", "Sign in again on this handheld"),
    "invalid_request": ("The service could not read the request", _CALL_DISPATCH),
    "not_found": ("The service does not know this item", "Reload the route"),
    "service_unavailable": ("The access service is unavailable", "Wait, then try again"),
    "account_locked": ("Too many failed sign-ins", "Wait until the lock ends, then sign in"),
    "refresh_token_reused": ("Your session was used elsewhere and has been ended", _SIGN_IN),
    "request_too_large": ("The request was too large for the service", _CALL_DISPATCH),
    # the handheld's own
    "service_unreachable": ("No connection to the access service", "Move to better coverage, then retry"),
    "door_not_found": ("No door of this stop is in range", "Walk closer to the entrance, then press unlock"),
    "radio_unavailable": (
        "This handheld's Bluetooth radio is not available",
        "Turn Bluetooth on, or check ble_mode",
    ),
    "door_link_lost": ("The connection to the door dropped", _TRY_AGAIN),
    "no_scan": ("Scan a parcel first", "Scan a parcel of this stop"),
    "not_unlocked": ("The door has not been opened yet", "Press unlock first"),
    "no_route": ("No route loaded", "Reload the route"),
    "not_signed_in": ("You are signed out", _SIGN_IN),
    "insecure_keyring": (
        "No secure keyring on this device",
        "Set one up, or start with --allow-insecure-keyring",
    ),
    "keyring_failed": ("The keyring did not answer", "Unlock the keyring, then sign in again"),
    "outbox_failed": (
        "Could not save to the outbox on this handheld",
        "Restart the app; call support if it stays",
    ),
    "outbox_read_only": (
        "The outbox folder on this handheld is read-only",
        "Fix data_dir permissions, or pick another",
    ),
    "outbox_full": ("This handheld's storage is full", "Free some storage, then retry"),
    "outbox_from_earlier": ("Confirmations saved in your last session are being sent", "Nothing to do"),
    "bad_response": ("The service sent an answer the app cannot read", _CALL_DISPATCH),
    "insecure_connection": (
        "Secure connection failed",
        "Nothing was sent: check the network or call dispatch",
    ),
    # the scanner's (a camera, video or label file the handheld reads)
    "no_such_file": ("The camera source file is missing", _CHECK_CAMERA),
    "unreadable_file": ("The camera source file cannot be read", _CHECK_CAMERA),
    "not_an_image": ("The camera source is not a readable image", _CHECK_CAMERA),
    "cannot_open_video": ("The camera or video cannot be opened", _CHECK_CAMERA),
    "sim_radio_not_installed": ("This install cannot reach a mock building's radio", "Use ble_mode=system"),
}

_FALLBACK = ("Refused ({reason})", _CALL_DISPATCH)


def known_reasons() -> frozenset[str]:
    return frozenset(_TABLE)


def notice_for(reason: str, context: NoticeContext | None = None, *, retrying: bool = False) -> Notice:
    """The driver-facing notice for `reason`; unknown codes still give a usable notice, never an error."""
    context = context or NoticeContext()
    message, action = _TABLE.get(str(reason), _FALLBACK)
    if context.door_name and reason in ("ok", "door_jammed"):
        message = f"{message}: {context.door_name}"
    if context.stop_label and reason in ("stop_completed", "package_not_for_stop", "not_on_route"):
        message = f"{message} ({context.stop_label})"
    others = " or ".join(context.other_door_names) or "another door of this building"
    action = action.format(other_doors=others)
    message = message.format(reason=reason)
    if context.host and reason == "insecure_connection":
        message = f"{message} to {context.host}"
    if retrying:
        wait = f" in {context.retry_in:.0f} s" if context.retry_in is not None else ""
        action = f"Retrying{wait}…"
    return Notice(reason=str(reason), message=message, next_action=action, retrying=retrying)


def notice_for_error(err: WorkflowError) -> Notice:
    """`notice_for` an error, with what only the error knows: the host of a failed secure connection,
    the service's word on when a sign-in lock or wait ends."""
    notice = notice_for(err.reason, NoticeContext(host=getattr(err, "host", None)))
    if err.reason in ("account_locked", "rate_limited") and err.detail:
        notice = replace(notice, message=f"{notice.message}: {err.detail}")
    return notice
