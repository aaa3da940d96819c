"""The radio's errors (under `MockBuildingError`): misuse of the virtual radio, each with a stable reason code."""

from __future__ import annotations

from enum import StrEnum

from mock_building.errors import CodedError


class RadioErrorReason(StrEnum):
    """Machine-readable reasons a caller can branch on (and logs can be grepped for)."""

    UNKNOWN_PERIPHERAL = "radio_unknown_peripheral"
    DUPLICATE_ADDRESS = "radio_duplicate_address"
    ADVERTISING_DATA_TOO_LONG = "radio_advertising_data_too_long"
    ADVERTISING_INTERVAL_OUT_OF_RANGE = "radio_advertising_interval_out_of_range"
    ALREADY_SERVING = "radio_already_serving"
    CLOSED = "radio_closed"
    NO_RUNNING_LOOP = "radio_no_running_loop"


class RadioError(CodedError):
    """Raised when the virtual radio is asked for something a real radio could not do."""

    reason: RadioErrorReason
