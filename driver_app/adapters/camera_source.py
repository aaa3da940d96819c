"""The one camera adapter: frames → scan pipeline → multi-frame confirmation → `Scan`s.

Any iterator of frames works: a camera, a video file, a folder of images, or one label image held
in front of the "camera" for a while (`still_frames`). Two faces share the same reader:

- `FrameBarcodeSource` implements the core's `BarcodeSource` port for the headless runner: decoding
  blocks, so it runs on one worker thread of its own and the event loop only awaits it.
- `OpenCvCamera` is what the TUI's camera panel drives from its thread worker: it hands every frame
  over for the live preview and the reads found in it; the TUI only displays.

A zbar scanner must stay on one thread, so a `FrameReader` builds its pipeline on first use.
Failures to open or read a source are `ScanError`s (a `WorkflowError` with a reason code).
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from driver_app.adapters.scanning.confirm import Confirmer
from driver_app.adapters.scanning.pipeline import ScanPipeline, build_pipeline
from driver_app.adapters.scanning.results import ScanResult
from driver_app.adapters.scanning.sources import (
    VIDEO_SUFFIXES,
    camera_frames,
    expand_paths,
    file_frames,
    load_image,
)
from driver_app.core.display_text import barcode_text
from driver_app.core.ports import Scan, ScanSource

__all__ = [
    "STILL_FRAMES",
    "FrameBarcodeSource",
    "FrameReader",
    "OpenCvCamera",
    "camera_factory",
    "frames_of",
    "still_frames",
]

#: A still label is offered as this many identical frames: enough for confirmation, bounded.
STILL_FRAMES = 5


def _text(result: ScanResult) -> str:
    """The exact text for matching (the UI escapes it for display); escaped bytes if not UTF-8."""
    return result.text if result.text is not None else barcode_text(result.raw)


def label_scan(confirmed: Sequence[ScanResult]) -> list[Scan]:
    """One `Scan` for what a frame confirmed of a label: its first symbol, the rest as `others`."""
    if not confirmed:
        return []
    first, *rest = confirmed
    return [Scan(_text(first), ScanSource.CAMERA, first.symbology.value, tuple(_text(r) for r in rest))]


def still_frames(path: Path, count: int = STILL_FRAMES) -> Iterator[np.ndarray]:
    """One image, as a camera held steady on it would deliver it."""
    return itertools.repeat(load_image(path), count)


def frames_of(source: str) -> Generator[np.ndarray, None, None]:
    """Frames from a device index, a video or image file, or every image/video in a folder.

    A generator: closing it closes the capture it is reading from.
    """
    if source.isdigit():
        yield from camera_frames(int(source))
        return
    for path in expand_paths([Path(source)]):
        yield from file_frames(path) if path.suffix.lower() in VIDEO_SUFFIXES else still_frames(path)


class FrameReader:
    """Decodes frames and reports a read once consecutive frames agree on it. One thread only."""

    def __init__(self, pipeline: ScanPipeline | None = None, confirmer: Confirmer | None = None) -> None:
        self._pipeline = pipeline
        self._confirmer = confirmer or Confirmer()

    def reads(self, frame: np.ndarray) -> list[Scan]:
        if self._pipeline is None:
            self._pipeline = build_pipeline()  # built on the thread that will use it
        return label_scan(self._confirmer.feed(self._pipeline.scan_live(frame)))


class FrameBarcodeSource:
    """Implements `BarcodeSource` over any frames, decoding on a worker thread of its own."""

    def __init__(
        self,
        frames: Iterator[np.ndarray],
        *,
        pipeline: ScanPipeline | None = None,
        confirmer: Confirmer | None = None,
    ) -> None:
        self._frames = frames
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="barcode")
        self._reader = FrameReader(pipeline, confirmer)
        self._ready: list[Scan] = []
        self._closing = threading.Event()

    async def next_scan(self, timeout: float) -> Scan | None:
        """The next confirmed read, or None when `timeout` passed or the frames ran out."""
        if self._closing.is_set():
            return None
        if not self._ready:
            loop = asyncio.get_running_loop()
            self._ready = await loop.run_in_executor(self._executor, self._read, timeout)
        return self._ready.pop(0) if self._ready else None

    async def close(self) -> None:
        """Returns at once; the worker stops after the frame it is decoding."""
        self._closing.set()
        self._executor.shutdown(wait=False)

    def _read(self, timeout: float) -> list[Scan]:
        """Runs on the worker thread: decode frames until something is confirmed."""
        deadline = time.monotonic() + timeout
        for frame in self._frames:
            if self._closing.is_set():
                break
            confirmed = self._reader.reads(frame)
            if confirmed:
                return confirmed
            if time.monotonic() >= deadline:
                break
        return []


class OpenCvCamera:
    """The TUI's camera; blocking, built and used on the camera worker's thread.

    `source` is a device index ("0"), a video file, an image, or a folder of images. Files are paced
    to a camera-like frame rate so the preview is watchable, and a still image is held for a few
    frames so the same multi-frame confirmation applies as with a real camera.
    """

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
        self._reader = FrameReader(pipeline)
        self._frames: Generator[np.ndarray, None, None] | None = None

    def frames(self) -> Iterator[np.ndarray]:
        self._frames = frames_of(self._source)
        for frame in self._frames:
            yield frame
            if self._pause:
                self._sleep(self._pause)

    def reads(self, frame: np.ndarray) -> list[Scan]:
        return self._reader.reads(frame)

    def close(self) -> None:
        """Releases the capture even when the worker stopped in the middle of a video."""
        if self._frames is not None:
            self._frames.close()


def camera_factory(source: str | None) -> Callable[[], OpenCvCamera] | None:
    """None when no camera is configured (the camera action is then hidden)."""
    if not source:
        return None
    return lambda: OpenCvCamera(source)
