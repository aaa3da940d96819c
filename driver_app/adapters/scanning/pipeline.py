"""The staged decoder: both decoders on the frame first, then costlier attempts until one reads.

A lobby photo is usually readable as is, by zbar, zxing-cpp or both; every symbol those lead
passes find is returned (a label carries several). The costlier attempts (straightened and
averaged crops of likely regions, contrast equalisation, enlargement, the full-resolution
frame) run only when the cheap ones fail. A still image gets a budget of work units (pixels scanned), so
its result never depends on how busy the machine is. Live frames get a wall-time budget
instead and pick up, on the next frame, the stages the previous one had no time for.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from . import imaging
from .checks import is_plausible
from .merge import cross_checked, merge
from .results import ScanResult
from .stages import Stage, StageSettings, stages
from .zbar_decoder import ZbarDecoder
from .zxing_decoder import load_zxing

__all__ = ["PipelineConfig", "ScanPipeline", "SecondDecoder", "build_pipeline"]


_PLANNING_MS = 3.0
"""Live frames: finding the candidate regions later stages crop takes about 2 ms on a 1280x720
frame; with less budget left, a frame that is not due a forced stage skips planning altogether."""


class SecondDecoder(Protocol):
    """The second decoder (zxing-cpp): every parcel format, including those zbar cannot read."""

    name: str

    def decode(self, gray: np.ndarray, *, thorough: bool = True) -> list[ScanResult]: ...


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    """Tuning knobs, chosen on the tuned part of the shared photos and the synthetic labels (never on
    the held-out part; see bench/scan_eval.py)."""

    work_budget: int = 2_000_000
    """Pixels a still image may have scanned, summed over stages; the lead stages always run. Big
    enough for both decoders' thorough passes on a VGA frame."""
    budget_ms: float = 10.0
    """Live frames: stop starting new stages once this much time is spent or predicted (the live
    target is a 10 ms median per 1280x720 frame on a 2-core machine)."""
    live_side: int = 1280
    """Live frames with a longer side (1080p and up) are scaled down to this first: within budget, a
    1920x1080 frame then costs what a 1280x720 one does (the still-image path keeps full resolution)."""
    starve_frames: int = 2
    """Live frames: after this many frames in a row with no time for a later stage, the next runs one
    anyway."""
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
        self._resume = 0  # live scanning: the later stage the next frame continues from
        self._starved = 0  # live scanning: frames in a row that had no time for a later stage
        self._skipped_lead: str | None = None  # live scanning: the lead stage the last frame had no time for

    def scan(self, frame: np.ndarray) -> list[ScanResult]:
        """Every symbol the lead stages read, or else what the first later stage that reads anything finds.

        Deterministic: the same frame gives the same result however loaded the machine is.
        """
        start = self._clock()
        gray = imaging.to_gray(frame)
        if gray.size == 0:
            return []
        spent = 0
        found: list[ScanResult] = []
        for stage in stages(gray, self._settings()):
            if not stage.lead and (accepted := self._accepted(found)):
                return accepted
            if not stage.lead and spent + stage.cost > self.config.work_budget:
                continue
            spent += stage.cost
            found = merge(found, self._attempt(stage, start))
        return self._accepted(found)

    def scan_live(self, frame: np.ndarray) -> list[ScanResult]:
        """Like `scan` for camera frames: within `budget_ms`, continuing where the last frame stopped.

        The first lead stage runs on every frame, however slow, and the others when they fit (else
        first on the next frame). The later stages are shared out over successive frames, so a
        hard label still gets every attempt within a few frames while each frame stays (near) on
        time: one runs when it is predicted to fit, and after `starve_frames` frames that ran none.
        A stage that read something runs first on the next frame, whatever the time, so the same
        label reads again and multi-frame confirmation can agree.
        """
        start = self._clock()
        gray = imaging.to_gray(frame)
        if gray.size == 0:
            return []
        if max(gray.shape) > self.config.live_side:
            factor = self.config.live_side / max(gray.shape)
            small, affine = imaging.resize(gray, factor, factor, fast=True)
            return [replace(r, polygon=imaging.map_back(r.polygon, affine)) for r in self._live(small, start)]
        return self._live(gray, start)

    def _live(self, gray: np.ndarray, start: float) -> list[ScanResult]:
        planned = stages(gray, self._settings())
        leads: list[Stage] = []
        first_later: Stage | None = None
        for stage in planned:  # the lead stages come first
            if not stage.lead:
                first_later = stage
                break
            leads.append(stage)
        # A lead stage the last frame had no time for goes first: on a busy machine the two
        # decoders take turns, frame by frame, instead of every frame running late.
        leads.sort(key=lambda lead: lead.name != self._skipped_lead)
        self._skipped_lead = None
        found: list[ScanResult] = []
        ms_per_unit = 0.0
        for index, lead in enumerate(leads):
            if index and (self._clock() - start) * 1000 + ms_per_unit * lead.cost > self.config.budget_ms:
                self._skipped_lead = lead.name
                continue
            ms_per_unit = max(ms_per_unit, self._timed(lead, start, found))
        accepted = self._accepted(found)
        if first_later is None:
            return accepted
        stage = first_later
        forced = self._starved >= self.config.starve_frames
        if accepted or (not forced and (self._clock() - start) * 1000 > self.config.budget_ms - _PLANNING_MS):
            self._starved += not accepted
            return accepted
        later = [stage, *planned]  # plans the region crops: only now that they are needed
        resume = self._resume if self._resume < len(later) else 0
        self._starved += 1
        for index in [*range(resume, len(later)), *range(resume)]:
            stage = later[index]
            elapsed = (self._clock() - start) * 1000
            if not forced and elapsed + ms_per_unit * stage.cost > self.config.budget_ms:
                self._resume = index
                return []
            forced, self._starved = False, 0
            ms_per_unit = max(ms_per_unit, self._timed(stage, start, found))
            if accepted := self._accepted(found):
                # The next frame of the same label tries what worked first, time or not.
                self._resume, self._starved = index, self.config.starve_frames
                return accepted
        self._resume = 0
        return []

    def _timed(self, stage: Stage, start: float, found: list[ScanResult]) -> float:
        """Run a stage, adding its reads to `found`; returns its measured ms per work unit."""
        before = self._clock()
        found[:] = merge(found, self._attempt(stage, start))
        return (self._clock() - before) * 1000 / max(stage.cost, 1)

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
        if stage.kind in ("second", "second-thorough"):
            assert self._second is not None  # stages() plans it only when there is one
            found = self._second.decode(image, thorough=stage.kind == "second-thorough")
            return [
                replace(result, polygon=imaging.map_back(result.polygon, affine), stage=stage.name)
                for result in found
                if is_plausible(result)
            ]
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

    def _accepted(self, found: list[ScanResult]) -> list[ScanResult]:
        """With both decoders at work, their known one-sided misreads are dropped (see `cross_checked`)."""
        return found if self._second is None else cross_checked(found)


def build_pipeline(config: PipelineConfig = PipelineConfig(), *, zxing: bool = True) -> ScanPipeline:
    """The app's scanner: zbar with zxing-cpp when the extra is installed and `zxing` is not turned off."""
    return ScanPipeline(config, second=load_zxing() if zxing else None)
