"""The mock building has one exception root, and every error keeps its machine-readable reason."""

from __future__ import annotations

import pytest

from mock_building.building.fault_client import FaultCommandError
from mock_building.building.running import BuildingError
from mock_building.door import DoorError, DoorErrorReason, DoorFaults
from mock_building.door.standalone import DoorRunError
from mock_building.errors import MockBuildingError
from mock_building.radio import RadioError, RadioErrorReason
from mock_building.scenario.labels import LabelError


@pytest.mark.parametrize(
    "error_type", [BuildingError, DoorError, DoorRunError, FaultCommandError, LabelError, RadioError]
)
def test_every_error_is_a_mock_building_error(error_type: type[Exception]) -> None:
    assert issubclass(error_type, MockBuildingError)


def test_a_door_error_caught_at_the_root_keeps_its_reason() -> None:
    with pytest.raises(MockBuildingError) as caught:
        DoorFaults().set(on_fire=True)
    assert caught.value.reason is DoorErrorReason.UNKNOWN_FAULT
    assert "on_fire" in caught.value.message


def test_a_radio_error_carries_its_reason_and_message() -> None:
    error = RadioError(RadioErrorReason.CLOSED, "the radio is closed")
    assert error.reason == "radio_closed"
    assert str(error) == error.message == "the radio is closed"
