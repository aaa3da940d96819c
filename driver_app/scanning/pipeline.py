"""The staged decoder: cheap attempts first, stop at the first plausible read, within a time budget.

A lobby photo is usually readable as is; the costlier attempts (contrast equalisation,
enlargement, straightened crops of likely regions, the full-resolution frame) run only when
the cheap ones fail, and a stage is skipped when its predicted cost no longer fits the budget.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from . import imaging
from .checks import is_plausible
from .imaging import Affine
from .regions import candidate_regions, crop_region
from .results import ScanResult
from .zbar_decoder import ZbarDecoder

__all__ = ["PipelineConfig", "ScanPipeline", "SecondDecoder"]

Stage = tuple[str, int, Callable[[], tuple[np.ndarray, Affine]]]


class SecondDecoder(Protocol):
    """An optional decoder for symbologies zbar cannot read (DataMatrix, PDF417, MaxiCode)."""

    name: str

    def decode(self, gray: np.ndarray) -> list[ScanResult]: ...


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    """Tuning knobs; defaults were chosen on the public set and hold on the generated test labels."""

    budget_ms: float = 30.0
    """Stop trying new stages once this much of the frame's time is spent or predicted."""
    max_side: int = 1000
    """Frames with a longer side are tried downscaled first; bars on labels that big are thick."""
    min_side: int = 32
    """Very flat crops get stretched to this many rows so zbar has enough scan lines to agree."""
    enlarge_below: int = 640
    """Images whose long side is below this (smaller than VGA) are also tried at twice the size; bigger frames get enlarged region crops instead."""
    region_side: int = 640
    """Straightened region crops are scaled so their long side has this many pixels."""


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

    def scan(self, frame: np.ndarray) -> list[ScanResult]:
        """All barcodes read from the first stage that yields a plausible one; [] when none."""
        start = self._clock()
        gray = imaging.to_gray(frame)
        if gray.size == 0:
            return []
        ms_per_pixel = 0.0
        for name, pixels, build in self._stages(gray):
            elapsed = (self._clock() - start) * 1000
            if elapsed + ms_per_pixel * pixels > self.config.budget_ms:
                continue
            before = self._clock()
            image, affine = build()
            reads = self._zbar.decode(image)
            ms_per_pixel = max(ms_per_pixel, (self._clock() - before) * 1000 / max(pixels, 1))
            results = [
                ScanResult(
                    symbology=read.symbology,
                    raw=read.raw,
                    polygon=imaging.map_back(read.polygon, affine),
                    ms=(self._clock() - start) * 1000,
                    decoder="zbar",
                    stage=name,
                    gs1=read.gs1,
                )
                for read in reads
            ]
            plausible = [result for result in results if is_plausible(result)]
            if plausible:
                return plausible
        if self._second is not None:
            return [r for r in self._second.decode(gray) if is_plausible(r)]
        return []

    def _stages(self, gray: np.ndarray) -> Iterator[Stage]:
        """The attempts in order of cost, as (name, pixel count, builder): images are built only when tried."""
        config = self.config
        base, affine = gray, imaging.IDENTITY
        height, width = gray.shape
        if max(height, width) > config.max_side:
            factor = config.max_side / max(height, width)
            base, affine = imaging.resize(gray, factor, factor)
        if min(base.shape) < config.min_side:
            fx = max(1.0, config.min_side / base.shape[1])
            fy = max(1.0, config.min_side / base.shape[0])
            base, stretch = imaging.resize(base, fx, fy)
            affine = imaging.compose(stretch, affine)
        size = base.size
        yield "gray", size, lambda: (base, affine)
        yield "clahe", size, lambda: (imaging.clahe(base), affine)
        small = max(base.shape) < config.enlarge_below
        if small:
            yield "enlarge", 4 * size, lambda: _then(imaging.resize(base, 2.0, 2.0), affine)
            yield "enlarge+clahe", 4 * size, lambda: _then(_clahe_of(imaging.resize(base, 2.0, 2.0)), affine)
        border = max(8, max(base.shape) // 10)
        padded_size = (base.shape[0] + 2 * border) * (base.shape[1] + 2 * border)
        yield "quiet-zone", padded_size, lambda: _then(imaging.pad(base, border), affine)
        yield "invert", size, lambda: (imaging.invert(base), affine)
        yield "otsu", size, lambda: (imaging.otsu(imaging.clahe(base)), affine)
        for index, box in enumerate(candidate_regions(base)):
            (_, _), (w, h), _ = box
            crop_size = int(config.region_side**2 * min(w, h) / max(w, h, 1))
            crop = functools.partial(crop_region, base, box, long_side=config.region_side)
            yield f"region{index}", crop_size, lambda crop=crop: _then(crop(), affine)
            yield f"region{index}+clahe", crop_size, lambda crop=crop: _then(_clahe_of(crop()), affine)
        if base is not gray and max(height, width) <= 2 * config.max_side:
            yield "full-resolution", gray.size, lambda: (gray, imaging.IDENTITY)


def _then(derived: tuple[np.ndarray, Affine], affine: Affine) -> tuple[np.ndarray, Affine]:
    """Chain a transform made on the working image after the map from the frame to it."""
    image, inner = derived
    return image, imaging.compose(inner, affine)


def _clahe_of(derived: tuple[np.ndarray, Affine]) -> tuple[np.ndarray, Affine]:
    image, affine = derived
    return imaging.clahe(image), affine
