"""The attempts the pipeline makes on one frame, cheapest and likeliest first.

Each stage is built lazily (its image exists only once it is tried) and carries its cost in
work units (pixels zbar will scan), so the pipeline can keep to a budget that does not depend
on how busy the machine is.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np

from . import imaging
from .imaging import Affine
from .regions import Region, bar_crop, candidate_regions, crop_region

__all__ = ["Stage", "StageKind", "StageSettings", "stages"]

StageKind = Literal["zbar", "zbar-rows", "second", "second-thorough"]

_BAR_ROWS = 16  # a bar crop is averaged down to this many identical-ish scan lines
_SPARSE_FROM = 200_000  # whole frames this big are scanned on every third line first
_BANDS = (
    (0.0, 0.4),
    (0.6, 1.0),
)  # the two ends of the bars, where perspective or a curve still leaves them straight


@dataclass(frozen=True, slots=True)
class Stage:
    """One attempt: zbar on an image, zbar on its horizontal lines only, or the second decoder
    (a plain pass, or a thorough one that also tries the image turned and inverted).

    `cost` counts the pixels the decoder will visit: both scan directions for "zbar", one line
    in `density` of them; the second decoder is charged what zbar would spend in the same time.
    `lead` stages run on every still image and, as time allows, on every live frame: together they
    read most labels.
    """

    name: str
    cost: int
    kind: StageKind
    build: Callable[[], tuple[np.ndarray, Affine]]
    density: int = 1
    lead: bool = False


Build = Callable[[], tuple[np.ndarray, Affine]]


def _whole(name: str, pixels: int, build: Build, *, density: int = 1, lead: bool = False) -> Stage:
    return Stage(name, 2 * pixels // density, "zbar", build, density, lead)


def _second(name: str, pixels: int, build: Build, *, thorough: bool, lead: bool = False) -> Stage:
    # Measured on 1280x720 frames: the plain pass costs about what zbar takes for half the pixels
    # on every other line, the thorough one three times that.
    if thorough:
        return Stage(name, 3 * pixels // 2, "second-thorough", build)
    return Stage(name, pixels // 2, "second", build, lead=lead)


def _rows(name: str, pixels: int, build: Callable[[], tuple[np.ndarray, Affine]]) -> Stage:
    return Stage(name, pixels, "zbar-rows", build)


@dataclass(frozen=True, slots=True)
class StageSettings:
    max_side: int
    min_side: int
    enlarge_below: int
    region_side: int
    with_second: bool
    second_side: int = 1280


def stages(gray: np.ndarray, settings: StageSettings) -> Iterator[Stage]:
    """The attempts in order: what usually works first, cheap recoveries next, costly whole-frame filters last.

    1. lead: the second decoder's plain pass on the frame, and zbar on the frame as is (big frames
       on every third line); each reads symbols the other misses, so both run;
    2. the second decoder's thorough pass (1D codes turned by 90 degrees, inverted prints);
    3. every 1D region straightened and averaged along its bars (a few thousand pixels each);
    4. a white quiet zone around the frame (codes cut off at the image edge);
    5. small frames enlarged twice, contrast equalisation, upright crops of smaller regions
       (for both decoders: small modules grow, a skewed code straightens);
    6. inversion (light-on-dark prints), half size (blur, noise), binarisation, full resolution.
    """
    base, affine = _working_image(gray, settings)
    size = base.size

    def whole_frame() -> tuple[np.ndarray, Affine]:
        return gray, imaging.IDENTITY

    second_frame = whole_frame
    if max(gray.shape) > settings.second_side:  # 1080p and up: zxing-cpp on 1280 px first, full size last
        factor = settings.second_side / max(gray.shape)
        second_frame = functools.partial(imaging.resize, gray, factor, factor)
    second_size = round(gray.size * min(1.0, settings.second_side / max(gray.shape)) ** 2)
    if settings.with_second:
        yield _second("zxing", second_size, second_frame, thorough=False, lead=True)
    if size > _SPARSE_FROM:
        yield _whole("gray-sparse", size, lambda: (base, affine), density=3, lead=True)
    else:
        yield _whole("gray", size, lambda: (base, affine), lead=True)
    if settings.with_second:
        yield _second("zxing-thorough", second_size, second_frame, thorough=True)
    regions = candidate_regions(gray)
    flat = [region for region in regions if region.looks_1d]
    for index, region in enumerate(flat):
        yield from _bar_stages(gray, region, f"bars{index}")
    if size > _SPARSE_FROM:
        yield _whole("gray", size, lambda: (base, affine))
    border = max(8, max(base.shape) // 10)
    padded_size = (base.shape[0] + 2 * border) * (base.shape[1] + 2 * border)
    yield _whole("quiet-zone", padded_size, lambda: _then(imaging.pad(base, border), affine))
    small = max(base.shape) < settings.enlarge_below
    enlarged = functools.partial(imaging.resize, base, 2.0, 2.0)
    if small:
        yield _whole("enlarge+clahe", 4 * size, lambda: _then(_filtered(imaging.clahe, enlarged()), affine))
    yield _whole("clahe", size, lambda: (imaging.clahe(base), affine))
    for index, region in enumerate(regions):
        (_, _), (w, h), _ = region.box
        if w * h < gray.size / 2:  # the whole-frame passes already cover a region that big
            yield from _upright_stages(gray, region, f"region{index}", settings)
    if small:
        yield _whole("enlarge", 4 * size, lambda: _then(enlarged(), affine))
        if settings.with_second:
            yield _second("zxing-enlarge", 4 * size, lambda: _then(enlarged(), affine), thorough=True)
    yield _whole("invert", size, lambda: (imaging.invert(base), affine))
    if min(base.shape) >= 4 * settings.min_side:
        halved = functools.partial(imaging.resize, base, 0.5, 0.5)
        yield _whole("half", size // 4, lambda: _then(halved(), affine))
    yield _whole("otsu", size, lambda: (imaging.otsu(imaging.clahe(base)), affine))
    if base is not gray and max(gray.shape) <= 2 * settings.max_side:
        yield _whole("full-resolution", gray.size, lambda: (gray, imaging.IDENTITY), density=2)
    if settings.with_second and second_frame is not whole_frame:
        yield _second("zxing-full-resolution", gray.size, whole_frame, thorough=True)


def _upright_stages(gray: np.ndarray, region: Region, name: str, settings: StageSettings) -> Iterator[Stage]:
    """A region cut out upright and enlarged up to twice its size: small modules grow, a tilted code straightens."""
    (_, _), (w, h), _ = region.box
    long_side = min(settings.region_side, round(2 * max(w, h)))
    crop_size = int(long_side**2 * min(w, h) / max(w, h, 1))
    crop = functools.partial(crop_region, gray, region.box, long_side=long_side)
    # Equalised first: the plain crop mostly repeats what the whole-frame pass already saw.
    yield _whole(f"{name}+clahe", crop_size, lambda: _filtered(imaging.clahe, crop()))
    yield _whole(name, crop_size, crop)
    if settings.with_second:
        yield _second(f"{name}-zxing", crop_size, crop, thorough=True)


def _bar_stages(gray: np.ndarray, region: Region, name: str) -> Iterator[Stage]:
    """A 1D region's bars made vertical and averaged along their length, at several scales and filters."""
    turned = functools.partial(bar_crop, gray, region, rows=_BAR_ROWS)
    width = _bar_width(region)
    cost = lambda scale: int(min(width * scale, 1400)) * _BAR_ROWS  # noqa: E731 - tiny local formula
    plain = functools.partial(turned, x_scale=1.0)
    yield _rows(name, cost(1), plain)
    yield _rows(f"{name}+sharp", cost(1), lambda: _filtered(imaging.sharpen_across, plain()))
    if width < 500:
        yield _rows(f"{name}x2", cost(2), functools.partial(turned, x_scale=2.0))
        yield _rows(
            f"{name}x2+sharp", cost(2), lambda: _filtered(imaging.sharpen_across, turned(x_scale=2.0))
        )
    for band in _BANDS:
        yield _rows(f"{name}@{band[0]:.1f}", cost(1), functools.partial(turned, x_scale=1.0, band=band))
    if width > 300:
        yield _rows(f"{name}/2", cost(0.5), functools.partial(turned, x_scale=0.5))
    yield _rows(
        f"{name}+otsu", cost(1), lambda: _filtered(imaging.otsu, _filtered(imaging.sharpen_across, plain()))
    )
    yield _rows(f"{name}+invert", cost(1), lambda: _filtered(imaging.invert, plain()))


def _bar_width(region: Region) -> float:
    (_, _), (w, h), _ = region.box
    return max(w, h)


def _working_image(gray: np.ndarray, settings: StageSettings) -> tuple[np.ndarray, Affine]:
    """Big frames are tried downscaled first (bars on labels that big are thick); tiny ones stretched."""
    base, affine = gray, imaging.IDENTITY
    height, width = gray.shape
    if max(height, width) > settings.max_side:
        factor = settings.max_side / max(height, width)
        base, affine = imaging.resize(gray, factor, factor)
    if min(base.shape) < settings.min_side:
        fx = max(1.0, settings.min_side / base.shape[1])
        fy = max(1.0, settings.min_side / base.shape[0])
        base, stretch = imaging.resize(base, fx, fy)
        affine = imaging.compose(stretch, affine)
    return base, affine


def _then(derived: tuple[np.ndarray, Affine], affine: Affine) -> tuple[np.ndarray, Affine]:
    """Chain a transform made on the working image after the map from the frame to it."""
    image, inner = derived
    return image, imaging.compose(inner, affine)


def _filtered(
    image_filter: Callable[[np.ndarray], np.ndarray], derived: tuple[np.ndarray, Affine]
) -> tuple[np.ndarray, Affine]:
    """A pixel-wise filter keeps the geometry, so the map back stays the same."""
    image, affine = derived
    return image_filter(image), affine
