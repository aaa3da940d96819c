"""The driver's Textual terminal app: a thin layer that renders the workflow core's state.

    create_app(workflow_factory, settings, *, credentials, clock, camera=None) -> DriverApp
"""

from driver_app.tui.factory import create_app

__all__ = ["create_app"]
