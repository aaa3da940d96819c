"""The TUI's camera: the scanner branch's frame sources and pipeline, as a `CameraScanner`.

`camera_source` in the settings is a device index ("0"), a video file, an image, or a folder of
images. Files are paced to a camera-like frame rate so the preview is watchable; a still image is
held for a few frames (`still_frames`, shared with the headless runner's camera path), so the same
multi-frame confirmation applies. Unlike the core's `FrameBarcodeSource`, this hands every frame to
the UI for the live preview.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator, Sequence
from pathlib import Path

import numpy as np

from driver_app.adapters.camera_source import label_scan, still_frames
from driver_app.core.ports import Scan
from driver_app.scanning.confirm import Confirmer
from driver_app.scanning.pipeline import ScanPipeline, build_pipeline
from driver_app.scanning.sources import VIDEO_SUFFIXES, camera_frames, expand_paths, file_frames
from driver_app.tui.contract import CameraFactory

__all__ = ["OpenCvCamera", "camera_factory", "frames_of"]

def frames_of(source: str) -> Generator[np.ndarray, None, None]:
    """Frames from a device index, a video or image file, or every image/video in a folder.

    A generator: closing it closes the capture it is reading from.
    """
    if source.isdigit():
        yield from camera_frames(int(source))
        return
    for path in expand_paths([Path(source)]):
        yield from _file(path)


def _file(path: Path) -> Iterator[np.ndarray]:
    if path.suffix.lower() in VIDEO_SUFFIXES:
        return file_frames(path)
    return still_frames(path)


class OpenCvCamera:
    """Blocking; built and used on the camera worker's thread (a zbar scanner stays on one thread)."""

    def __init__(
        self,
        source: str,
        *,
        fps: float | None = 10.0,
        sleep: Callable[[float], None] = time.sleep,
        pipeline: ScanPipeline | None = None,
    ) -> None:
        self.description = source
        self._source = source
        self._pause = 1.0 / fps if fps and not source.isdigit() else 0.0
        self._sleep = sleep
        self._pipeline = pipeline or build_pipeline()
        self._confirmer = Confirmer()
        self._frames: Generator[np.ndarray, None, None] | None = None

    def frames(self) -> Iterator[np.ndarray]:
        self._frames = frames_of(self._source)
        for frame in self._frames:
            yield frame
            if self._pause:
                self._sleep(self._pause)

    def reads(self, frame: np.ndarray) -> Sequence[Scan]:
        return label_scan(self._confirmer.feed(self._pipeline.scan_live(frame)))

    def close(self) -> None:
        """Releases the capture even when the worker stopped in the middle of a video."""
        if self._frames is not None:
            self._frames.close()


def camera_factory(source: str | None) -> CameraFactory | None:
    """None when no camera is configured (the camera action is then hidden)."""
    if not source:
        return None
    return lambda: OpenCvCamera(source)
