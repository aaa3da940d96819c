"""Every machine-readable reason in the project is spelled one way: a snake_case slug (`door_not_found`)."""

from __future__ import annotations

import importlib
import pkgutil
import re
from inspect import getattr_static
from pathlib import Path

import driver_app
import mock_building
from driver_app.core.errors import ClientReason, WorkflowError
from mock_building.door.errors import DoorErrorReason
from mock_building.errors import CodedError, MockBuildingError
from mock_building.radio.errors import RadioErrorReason
from protocol.reasons import ReasonCode

SLUG = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
ROOT = Path(__file__).resolve().parents[2]


def _subclasses(root: type) -> set[type]:
    found: set[type] = set(root.__subclasses__())
    for cls in list(found):
        found |= _subclasses(cls)
    return found


def _import_all(package: object) -> None:
    for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):  # type: ignore[attr-defined]
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)


def test_every_reason_code_is_a_snake_case_slug() -> None:
    _import_all(driver_app)
    _import_all(mock_building)
    errors = _subclasses(WorkflowError) | _subclasses(MockBuildingError) | {MockBuildingError}
    codes = (
        {code.slug for code in ReasonCode} | set(ClientReason) | set(DoorErrorReason) | set(RadioErrorReason)
    )
    codes |= {cls.__dict__["reason"] for cls in errors if isinstance(cls.__dict__.get("reason"), str)}
    # reasons written where an error is raised: `SomeError("reason", ...)`, for errors that take one first
    initialisers = (WorkflowError.__init__, CodedError.__init__)
    takes_reason = {cls for cls in errors if getattr_static(cls, "__init__") in initialisers}
    names = "|".join(sorted(cls.__name__ for cls in takes_reason))
    raised = re.compile(rf"\b(?:{names})\(\s*\"([^\"]+)\"")
    for path in [*ROOT.glob("driver_app/**/*.py"), *ROOT.glob("mock_building/**/*.py")]:
        codes |= set(raised.findall(path.read_text(encoding="utf-8")))
    assert len(codes) > 70
    assert sorted(code for code in codes if not SLUG.match(code)) == []
