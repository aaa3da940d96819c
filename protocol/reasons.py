"""Stable reason codes shared by doors, the access service and the app.

The number goes on the wire (unlock results, receipts); the snake_case slug is the
`code` of HTTP problem documents. Both are frozen once released: never renumber or
rename a member, only add new ones. Ranges: 0 success, 1-49 door verification,
50-69 door hardware, 70-89 receipt checking, 100-199 access service.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = ["Outcome", "ReasonCode"]


class ReasonCode(IntEnum):
    """Why an operation succeeded or was refused."""

    OK = 0
    # Door-side verification of an unlock request.
    MALFORMED = 1
    TOO_LARGE = 2
    UNSUPPORTED_VERSION = 3
    NO_ACTIVE_CHALLENGE = 4
    ALGORITHM_NOT_ALLOWED = 5
    UNKNOWN_KEY = 6
    BAD_SIGNATURE = 7
    WRONG_ISSUER = 8
    WRONG_DOOR = 9
    LIFETIME_TOO_LONG = 10
    NOT_YET_VALID = 11
    EXPIRED = 12
    POP_FAILED = 13
    GRANT_ALREADY_USED = 14
    WEAK_KEY = 15
    CHALLENGE_EXPIRED = 16
    # Door-side checks of maintenance statements relayed by phones (SPEC section 14).
    STATEMENT_MALFORMED = 30
    STATEMENT_UNSIGNED = 31
    STATEMENT_UNKNOWN_SIGNER = 32
    STATEMENT_BAD_SIGNATURE = 33
    STATEMENT_NOT_AUTHORIZED = 34
    STATEMENT_WRONG_DOOR = 35
    STATEMENT_REPLAYED = 36
    STATEMENT_STALE = 37
    CLOCK_STEP_REFUSED = 38
    GRANT_REVOKED = 39
    TRUST_CHANGE_REFUSED = 40
    # Door hardware, after a request was accepted.
    DOOR_JAMMED = 50
    DOOR_BUSY = 51
    # Door-position sensor alerts: door events that no grant caused (outcome ALERT).
    DOOR_FORCED = 52
    DOOR_HELD_OPEN = 53
    UNLOCKED_NOT_OPENED = 54
    # The door's store of unacknowledged receipts is full: deliveries fail closed.
    RECEIPT_STORE_FULL = 60
    # Access-service checks of relayed receipts.
    RECEIPT_BAD_SIGNATURE = 70
    RECEIPT_WRONG_DOOR = 71
    RECEIPT_DUPLICATE = 72
    RECEIPT_GAP = 73
    CHAIN_BROKEN = 74
    UNKNOWN_DOOR = 75
    # Building alerts raised from relayed receipts and grants (kinds of GET /v1/alerts).
    UNKNOWN_GRANT = 76
    GRANT_WITHOUT_RECEIPT = 77
    REVOKED_GRANT_USED = 78
    CHAIN_FORK = 79
    # Access service (HTTP API).
    INVALID_REQUEST = 100
    NOT_AUTHENTICATED = 101
    TOKEN_EXPIRED = 102
    INVALID_CREDENTIALS = 103
    FORBIDDEN = 104
    NOT_FOUND = 105
    NOT_ON_ROUTE = 106
    STOP_COMPLETED = 107
    PACKAGE_NOT_FOR_STOP = 108
    DOOR_NOT_FOR_STOP = 109
    OUTSIDE_DELIVERY_WINDOW = 110
    RATE_LIMITED = 111
    REVOKED = 112
    UNKNOWN_HANDHELD = 113
    CONFLICT = 114
    SERVICE_UNAVAILABLE = 115
    INTERNAL_ERROR = 116
    CARRIER_NOT_ACCEPTED = 117
    ALREADY_DELIVERED = 118
    # Accounts and request hygiene (130-149).
    REQUEST_TOO_LARGE = 130
    ACCOUNT_LOCKED = 131
    REFRESH_TOKEN_REUSED = 132

    @property
    def slug(self) -> str:
        """The stable snake_case name used as the HTTP problem `code`."""
        return self.name.lower()

    @classmethod
    def from_slug(cls, slug: str) -> ReasonCode:
        """Inverse of `slug`; raises ValueError for an unknown slug."""
        try:
            return cls[slug.upper()]
        except KeyError:
            raise ValueError(f"unknown reason code {slug!r}") from None


class Outcome(IntEnum):
    """What physically happened at the door for one attempt (recorded in receipts)."""

    UNLOCKED = 0
    REFUSED = 1
    FAULT = 2
    ALERT = 3
    MAINTAINED = 4
    """A maintenance statement was applied (SPEC section 14); 3 is the sensor's ALERT."""
