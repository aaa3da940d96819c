"""The staged decoder: cheap attempts first, stop at the first plausible read, within a budget.

A lobby photo is usually readable as is; the costlier attempts (straightened and averaged
crops of likely regions, contrast equalisation, enlargement, the full-resolution frame) run
only when the cheap ones fail. A still image gets a budget of work units (pixels scanned), so
its result never depends on how busy the machine is. Live frames get a wall-time budget
instead and pick up, on the next frame, the stages the previous one had no time for.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from . import imaging
from .checks import is_plausible
from .results import ScanResult
from .stages import Stage, StageSettings, stages
from .zbar_decoder import ZbarDecoder

__all__ = ["PipelineConfig", "ScanPipeline", "SecondDecoder"]


class SecondDecoder(Protocol):
    """An optional decoder for symbologies zbar cannot read (DataMatrix, PDF417, MaxiCode)."""

    name: str

    def decode(self, gray: np.ndarray) -> list[ScanResult]: ...


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    """Tuning knobs; defaults were chosen on the public set and hold on the generated test labels."""

    work_budget: int = 800_000
    """Pixels a still image may have scanned, summed over stages; the first stage always runs."""
    budget_ms: float = 30.0
    """Live frames: stop starting new stages once this much time is spent or predicted."""
    max_side: int = 1000
    """Frames with a longer side are tried downscaled first; bars on labels that big are thick."""
    min_side: int = 32
    """Very flat crops get stretched to this many rows so zbar has enough scan lines to agree."""
    enlarge_below: int = 640
    """Images whose long side is below this (smaller than VGA) are also tried at twice the size."""
    region_side: int = 640
    """Upright crops of 2D-looking regions are scaled so their long side has this many pixels."""


class ScanPipeline:
    """Decode one frame; owns a zbar scanner, so use one pipeline per thread."""

    def __init__(
        self,
        config: PipelineConfig = PipelineConfig(),
        *,
        second: SecondDecoder | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.config = config
        self._zbar = ZbarDecoder()
        self._second = second
        self._clock = clock
        self._resume = 1  # live scanning: index of the stage the next frame continues from

    def scan(self, frame: np.ndarray) -> list[ScanResult]:
        """All barcodes read from the first stage that yields a plausible one; [] when none.

        Deterministic: the same frame gives the same result however loaded the machine is.
        """
        start = self._clock()
        gray = imaging.to_gray(frame)
        if gray.size == 0:
            return []
        spent = 0
        second_tried = False
        for index, stage in enumerate(stages(gray, self._settings())):
            if index and spent + stage.cost > self.config.work_budget:
                continue
            spent += stage.cost
            second_tried |= stage.kind == "second"
            if found := self._attempt(stage, start):
                return found
        return [] if second_tried else self._last_resort(gray, start)

    def scan_live(self, frame: np.ndarray) -> list[ScanResult]:
        """Like `scan` for camera frames: within `budget_ms`, continuing the stage list where the last frame stopped.

        The first stage and the next one due run on every frame, however slow; the rest are shared
        out over successive frames, so a hard label still gets every attempt within a few frames
        while each frame stays (near) on time. A stage that read something is tried first on the
        next frame, so the same label reads again and multi-frame confirmation can agree.
        """
        start = self._clock()
        gray = imaging.to_gray(frame)
        if gray.size == 0:
            return []
        planned = list(stages(gray, self._settings()))
        ms_per_unit = 0.0
        order = [0, *range(self._resume, len(planned)), *range(1, min(self._resume, len(planned)))]
        for step, index in enumerate(order):
            stage = planned[index]
            elapsed = (self._clock() - start) * 1000
            if step > 1 and elapsed + ms_per_unit * stage.cost > self.config.budget_ms:
                self._resume = index
                return []
            before = self._clock()
            found = self._attempt(stage, start)
            ms_per_unit = max(ms_per_unit, (self._clock() - before) * 1000 / max(stage.cost, 1))
            if found:
                self._resume = max(index, 1)  # the next frame of the same label tries what worked first
                return found
        self._resume = 1
        return []

    def _settings(self) -> StageSettings:
        config = self.config
        return StageSettings(
            max_side=config.max_side,
            min_side=config.min_side,
            enlarge_below=config.enlarge_below,
            region_side=config.region_side,
            with_second=self._second is not None,
        )

    def _attempt(self, stage: Stage, start: float) -> list[ScanResult]:
        image, affine = stage.build()
        if stage.kind == "second":
            assert self._second is not None  # stages() plans it only when there is one
            return [r for r in self._second.decode(image) if is_plausible(r)]
        reads = self._zbar.decode(image, density=stage.density, rows_only=stage.kind == "zbar-rows")
        results = [
            ScanResult(
                symbology=read.symbology,
                raw=read.raw,
                polygon=imaging.map_back(read.polygon, affine),
                ms=(self._clock() - start) * 1000,
                decoder="zbar",
                stage=stage.name,
                gs1=read.gs1,
            )
            for read in reads
        ]
        return [result for result in results if is_plausible(result)]

    def _last_resort(self, gray: np.ndarray, start: float) -> list[ScanResult]:
        """The second decoder on the whole frame once zbar found nothing (its own detector finds 2D codes)."""
        if self._second is None:
            return []
        return [r for r in self._second.decode(gray) if is_plausible(r)]
