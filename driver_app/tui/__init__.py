"""The driver's Textual terminal app: a thin layer that renders the workflow core's state.

    create_app(workflow_factory, settings, *, clock, camera=None) -> DriverApp

Importing this package stays cheap (the CLI parses flags for every command); Textual loads with
`create_app`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from driver_app.tui.factory import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from driver_app.tui.factory import create_app

        return create_app
    raise AttributeError(name)
