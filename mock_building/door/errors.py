"""The door package's errors, under the one root `mock_building.errors.MockBuildingError`.

    DoorError (reason: DoorErrorReason)   misuse of a door: bad settings, unusable state dir,
                                          a challenge for a connection that is gone

Refusals of unlock requests are not errors: they are decisions with a protocol `ReasonCode`,
reported in the result and the receipt.
"""

from __future__ import annotations

from enum import StrEnum

from mock_building.errors import CodedError

__all__ = ["DoorError", "DoorErrorReason"]


class DoorErrorReason(StrEnum):
    """Machine-readable reasons a caller can branch on."""

    UNKNOWN_FAULT = "door_unknown_fault"
    BAD_FAULT_VALUE = "door_bad_fault_value"
    BAD_CONFIG = "door_bad_config"
    STATE_DIR_UNUSABLE = "door_state_dir_unusable"
    STATE_CORRUPT = "door_state_corrupt"
    SESSION_CLOSED = "door_session_closed"


class DoorError(CodedError):
    """Raised when a door is configured or driven in a way a real door could not be."""

    reason: DoorErrorReason
