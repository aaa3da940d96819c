"""Find where a barcode probably is, so a small crop can be straightened and enlarged.

The classic gradient detector: bars and modules make strong, dense edges; closing the edge
map joins them into a blob whose rotated bounding box is the candidate region.
"""

from __future__ import annotations

import cv2
import numpy as np

from .imaging import Affine, compose

__all__ = ["candidate_regions", "crop_region"]

_DETECT_SIDE = 320  # detection runs on a small copy: regions are big, edges survive


def candidate_regions(gray: np.ndarray, *, limit: int = 3) -> list[tuple[tuple[float, float], tuple[float, float], float]]:
    """Rotated rectangles ((cx, cy), (w, h), angle) in `gray` coordinates, largest first."""
    scale = min(1.0, _DETECT_SIDE / max(gray.shape))
    small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else gray
    gx = cv2.Sobel(small, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(small, cv2.CV_32F, 0, 1, ksize=3)
    magnitude = cv2.convertScaleAbs(cv2.magnitude(gx, gy))
    blurred = cv2.blur(magnitude, (5, 5))
    _, mask = cv2.threshold(blurred, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (9, 9)))
    mask = cv2.erode(mask, None, iterations=2)
    mask = cv2.dilate(mask, None, iterations=3)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    min_area = 0.01 * small.shape[0] * small.shape[1]
    boxes = []
    for contour in sorted(contours, key=cv2.contourArea, reverse=True)[:limit]:
        if cv2.contourArea(contour) < min_area:
            break
        (cx, cy), (w, h), angle = cv2.minAreaRect(contour)
        boxes.append(((cx / scale, cy / scale), (w / scale, h / scale), angle))
    return boxes


def crop_region(
    gray: np.ndarray,
    box: tuple[tuple[float, float], tuple[float, float], float],
    *,
    long_side: int,
) -> tuple[np.ndarray, Affine]:
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
