"""The camera path behind the core's `BarcodeSource` port: frames → scan pipeline → confirmed reads.

Any iterator of frames works: a camera, a video file, a folder of images, or one label image held
in front of the "camera" for a while (`still_frames`). Decoding blocks, so it runs on one worker
thread of its own (a zbar scanner must stay on one thread); the event loop only awaits it.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from driver_app.core.display_text import barcode_text
from driver_app.core.ports import Scan, ScanSource
from driver_app.scanning.confirm import Confirmer
from driver_app.scanning.pipeline import ScanPipeline, build_pipeline
from driver_app.scanning.results import ScanResult
from driver_app.scanning.sources import load_image

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


class FrameBarcodeSource:
    """Implements `BarcodeSource`; a read is reported once consecutive frames agree on it."""

    def __init__(
        self,
        frames: Iterator[np.ndarray],
        *,
        pipeline: ScanPipeline | None = None,
        confirmer: Confirmer | None = None,
    ) -> None:
        self._frames = frames
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="barcode")
        self._pipeline = pipeline
        self._confirmer = confirmer or Confirmer()
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
        if self._pipeline is None:
            self._pipeline = build_pipeline()  # built on the thread that will use it
        deadline = time.monotonic() + timeout
        for frame in self._frames:
            if self._closing.is_set():
                break
            confirmed = label_scan(self._confirmer.feed(self._pipeline.scan_live(frame)))
            if confirmed:
                return confirmed
            if time.monotonic() >= deadline:
                break
        return []
