"""The scanning adapter's one exception root.

    ScanError                 (reason: a stable machine-readable code)
     └── SourceError          a file, folder, video or camera could not be opened or read
"""

from __future__ import annotations

__all__ = ["ScanError", "SourceError"]


class ScanError(Exception):
    """Base of every error the scanner raises; `reason` is stable, the message is for people."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class SourceError(ScanError):
    """A frame source failed: missing file, unsupported or corrupt format, camera unavailable."""
