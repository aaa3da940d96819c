"""The one exception root of `mock_building`.

MockBuildingError          (.reason: stable reason code string)
 +-- ScenarioError         a scenario file is unreadable or invalid (.key names the bad key)
 +-- StoreError            the database cannot be opened or migrated
 |    +-- DatabaseUnavailable  the database cannot be reached now (down, refusing, locked too long)
 +-- LabelError            a package cannot be printed on a label
 +-- CodedError            the reason is chosen where it is raised: `CodedError(reason, message)`
      +-- DoorError        misuse of an emulated door (reason: DoorErrorReason)
      +-- RadioError       misuse of the virtual radio (reason: RadioErrorReason)
      +-- BuildingError    a part of the building could not start
      +-- DoorRunError     a door on a real controller cannot run
      +-- FaultCommandError  a fault could not be set from the command line
"""

from __future__ import annotations

__all__ = ["CodedError", "DatabaseUnavailable", "MockBuildingError", "ScenarioError", "StoreError"]


class MockBuildingError(Exception):
    """Root of every error raised by the mock building on purpose."""

    reason: str = "mock_building_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CodedError(MockBuildingError):
    """An error whose subclass covers several causes; `reason` tells them apart."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class ScenarioError(MockBuildingError):
    """A scenario is invalid; `key` is the path of the offending key (e.g. `doors[1].id`), `source` the file."""

    reason = "invalid_scenario"

    def __init__(self, key: str, detail: str, *, source: str | None = None, line: int | None = None) -> None:
        where = f"{source}:{line}" if source and line else source
        super().__init__(": ".join(part for part in (where, key, detail) if part))
        self.key = key
        self.detail = detail
        self.source = source
        self.line = line


class StoreError(MockBuildingError):
    """The database is unusable (e.g. written by a newer schema than this code knows)."""

    reason = "store_error"


class DatabaseUnavailable(StoreError):
    """The database cannot be reached now (down, refusing connections, its lock held too long): a
    request may be retried later, unlike a bug's."""

    reason = "database_unavailable"
