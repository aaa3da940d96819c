"""Find where a barcode probably is, which way its bars run, and cut it out straightened.

The classic gradient detector: bars and modules make strong, dense edges; closing the edge
map joins them into a blob. The structure tensor of the gradients inside the blob says how
the bars are oriented and whether one orientation dominates (a 1D code) or not (a 2D code),
so a 1D region can be rotated until its bars are exactly vertical and then averaged along
them, which removes noise and blur across the bars that no global filter can.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from .imaging import Affine, compose

__all__ = ["Region", "bar_crop", "candidate_regions", "crop_region"]

_DETECT_SIDE = 320  # detection runs on a small copy: regions are big, edges survive
_ONE_D_COHERENCE = 0.6  # above this one gradient direction dominates: parallel bars

Box = tuple[tuple[float, float], tuple[float, float], float]


@dataclass(frozen=True, slots=True, eq=False)
class Region:
    """A likely barcode: its rotated box and outline (input coordinates) and its gradient statistics."""

    box: Box
    outline: np.ndarray  # N x 2 float points of the blob's contour
    gradient_degrees: float
    """Direction across the bars (image coordinates, y down); rotating by it makes bars vertical."""
    coherence: float
    """0 (edges in every direction, 2D code or clutter) .. 1 (all edges parallel, 1D code)."""

    @property
    def looks_1d(self) -> bool:
        return self.coherence >= _ONE_D_COHERENCE


_KERNEL_3X3 = np.ones((3, 3), np.uint8)  # OpenCV's default structuring element, spelled out


def candidate_regions(gray: np.ndarray, *, limit: int = 3) -> list[Region]:
    """Likely barcode regions in `gray`: 1D-looking ones first (largest first), then 2D-looking ones.

    Two masks: one of dense edges whose local orientation is coherent (parallel bars; a lone
    edge or text is either too thin or incoherent), whose blobs hug a 1D code tightly even
    in clutter, and one of dense edges in any direction for 2D codes.
    """
    scale = min(1.0, _DETECT_SIDE / max(gray.shape))
    small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else gray
    gx = cv2.Sobel(small, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(small, cv2.CV_32F, 0, 1, ksize=3)
    tensor = (gx * gx, gy * gy, gx * gy)
    bars = _coherent_mask(tensor)
    dense = _dense_edge_mask(gx, gy)
    min_area = 0.01 * small.shape[0] * small.shape[1]
    found = [r for r in _blobs(bars, tensor, scale, min_area, limit) if r.looks_1d]
    found += [r for r in _blobs(dense, tensor, scale, min_area, limit) if not r.looks_1d]
    return found


def _coherent_mask(tensor: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
    sxx, syy, sxy = (cv2.blur(part, (7, 7)) for part in tensor)
    energy = sxx + syy
    coherence = np.sqrt((sxx - syy) ** 2 + 4 * sxy**2) / (energy + 1e-6)
    strong = cv2.normalize(energy, np.empty_like(energy), 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    level, _ = cv2.threshold(strong, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    mask = ((strong > level * 0.5) & (coherence > 0.7)).astype(np.uint8) * 255
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (5, 5)))
    mask = cv2.erode(mask, _KERNEL_3X3, iterations=2)  # a lone straight edge is thin: gone
    return cv2.dilate(mask, _KERNEL_3X3, iterations=2)


def _dense_edge_mask(gx: np.ndarray, gy: np.ndarray) -> np.ndarray:
    magnitude = cv2.convertScaleAbs(cv2.magnitude(gx, gy))
    blurred = cv2.blur(magnitude, (5, 5))
    _, mask = cv2.threshold(blurred, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (9, 9)))
    mask = cv2.erode(mask, _KERNEL_3X3, iterations=2)
    return cv2.dilate(mask, _KERNEL_3X3, iterations=3)


def _blobs(
    mask: np.ndarray,
    tensor: tuple[np.ndarray, np.ndarray, np.ndarray],
    scale: float,
    min_area: float,
    limit: int,
) -> list[Region]:
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    regions = []
    for contour in sorted(contours, key=cv2.contourArea, reverse=True)[:limit]:
        if cv2.contourArea(contour) < min_area:
            break
        (cx, cy), (w, h), angle = cv2.minAreaRect(contour)
        degrees, coherence = _orientation(tensor, contour)
        regions.append(
            Region(
                box=((cx / scale, cy / scale), (w / scale, h / scale), angle),
                outline=contour.reshape(-1, 2).astype(np.float64) / scale,
                gradient_degrees=degrees,
                coherence=coherence,
            )
        )
    return regions


def _orientation(
    tensor: tuple[np.ndarray, np.ndarray, np.ndarray], contour: np.ndarray
) -> tuple[float, float]:
    """Dominant gradient direction and its coherence over the blob (structure tensor eigen-analysis)."""
    x, y, w, h = cv2.boundingRect(contour)
    blob = np.zeros((h, w), np.uint8)
    cv2.drawContours(blob, [contour - (x, y)], -1, 1, thickness=cv2.FILLED)
    sxx, syy, sxy = (float((part[y : y + h, x : x + w] * blob).sum()) for part in tensor)
    spread = sxx + syy
    if spread <= 0:
        return 0.0, 0.0
    coherence = math.hypot(sxx - syy, 2 * sxy) / spread
    return math.degrees(0.5 * math.atan2(2 * sxy, sxx - syy)), coherence


def bar_crop(
    gray: np.ndarray,
    region: Region,
    *,
    x_scale: float,
    rows: int,
    band: tuple[float, float] = (0.0, 1.0),
    max_width: int = 1400,
) -> tuple[np.ndarray, Affine]:
    """The 1D region rotated so its bars are vertical, `x_scale` times its size across the bars, `rows` tall.

    Squeezing the bar length into a few rows averages every column along its bar: noise and
    blotches along the bars cancel while the bar edges stay where they were. `band` keeps only
    that fraction of the bar length, for labels in perspective or on a curve where bars are
    straight only over a short stretch.
    """
    (cx, cy), _, _ = region.box
    rotation = cv2.getRotationMatrix2D((cx, cy), region.gradient_degrees, 1.0)
    turned = region.outline @ rotation[:, :2].T + rotation[:, 2]
    (left, top), (right, bottom) = turned.min(axis=0), turned.max(axis=0)
    margin = 0.08 * (right - left) + 6
    left, right = left - margin, right + margin
    inset = 0.1 * (bottom - top)  # stay off the human-readable digits under the bars
    top, bottom = top + inset, bottom - inset
    top, bottom = top + band[0] * (bottom - top), top + band[1] * (bottom - top)
    sx = min(x_scale, max_width / max(right - left, 1))
    sy = min(sx, 4 * rows / max(bottom - top, 1))  # warp at a few rows per output row, then average
    placement = np.array([[sx, 0, -left * sx], [0, sy, -top * sy]])
    affine = compose(placement, rotation)
    size = (max(1, round((right - left) * sx)), max(rows, round((bottom - top) * sy)))
    warped = cv2.warpAffine(gray, affine, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    image = cv2.resize(warped, (size[0], rows), interpolation=cv2.INTER_AREA)
    squeeze = np.array([[1.0, 0, 0], [0, rows / size[1], 0]])
    return image, compose(squeeze, affine)


def crop_region(gray: np.ndarray, box: Box, *, long_side: int) -> tuple[np.ndarray, Affine]:
    """Cut the rotated box out, upright with its long side horizontal, margin included, scaled to `long_side`."""
    (cx, cy), (w, h), angle = box
    if w < h:
        w, h, angle = h, w, angle - 90
    w, h = w * 1.15 + 8, h * 1.15 + 8
    scale = long_side / w
    rotation = cv2.getRotationMatrix2D((cx, cy), angle, 1.0)
    placement = np.array([[scale, 0, -(cx - w / 2) * scale], [0, scale, -(cy - h / 2) * scale]])
    affine = compose(placement, rotation)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    image = cv2.warpAffine(gray, affine, size, flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    return image, affine
