"""The scanner's errors, part of the driver app's one error root (`driver_app.core.errors`).

    WorkflowError             (reason: a stable machine-readable code, title, detail)
     └── ScanError            the scanner failed
          └── SourceError     a file, folder, video or camera could not be opened or read

Their reasons are `ClientReason` codes, so the UI maps them to a message like any other reason.
"""

from __future__ import annotations

from driver_app.core.errors import WorkflowError

__all__ = ["ScanError", "SourceError"]


class ScanError(WorkflowError):
    """Base of every error the scanner raises; `reason` is stable, `detail` is for people."""

    title = "Scanner problem"


class SourceError(ScanError):
    """A frame source failed: missing file, unsupported or corrupt format, camera unavailable."""

    title = "Camera or file unavailable"
