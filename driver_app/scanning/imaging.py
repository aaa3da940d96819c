"""Image transforms the pipeline tries, each with the affine map back to the input frame.

Every transform returns the new image and a 2x3 matrix taking input-frame coordinates to the
new image's coordinates, so a position zbar reports can be mapped back exactly.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = [
    "IDENTITY",
    "Affine",
    "clahe",
    "compose",
    "invert",
    "map_back",
    "otsu",
    "pad",
    "resize",
    "rotate",
    "sharpen_across",
    "to_gray",
]

Affine = np.ndarray  # 2x3 float64, input frame -> derived image

IDENTITY: Affine = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
_CLAHE = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))


def compose(outer: Affine, inner: Affine) -> Affine:
    """The affine map `outer ∘ inner` (apply `inner` first)."""
    return (np.vstack([outer, [0, 0, 1]]) @ np.vstack([inner, [0, 0, 1]]))[:2]


def to_gray(frame: np.ndarray) -> np.ndarray:
    """OpenCV frames are BGR(A) or already gray; 16-bit images are scaled to 8 bits."""
    if frame.dtype != np.uint8:
        frame = cv2.normalize(frame, np.empty_like(frame), 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    if frame.ndim == 2:
        return frame
    if frame.shape[2] == 4:
        # Composite on white: a transparent label background is a quiet zone, not black.
        alpha = frame[:, :, 3:4].astype(np.float32) / 255.0
        frame = (frame[:, :, :3] * alpha + 255 * (1 - alpha)).astype(np.uint8)
    if frame.shape[2] == 1:
        return frame[:, :, 0]
    return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)


def resize(gray: np.ndarray, fx: float, fy: float) -> tuple[np.ndarray, Affine]:
    interpolation = cv2.INTER_AREA if fx * fy < 1 else cv2.INTER_CUBIC
    width = max(1, round(gray.shape[1] * fx))
    height = max(1, round(gray.shape[0] * fy))
    image = cv2.resize(gray, (width, height), interpolation=interpolation)
    return image, np.array([[width / gray.shape[1], 0, 0], [0, height / gray.shape[0], 0]])


def rotate(gray: np.ndarray, degrees: float) -> tuple[np.ndarray, Affine]:
    """Rotate about the centre, growing the canvas so nothing is cut off; new area is white."""
    height, width = gray.shape
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    new_w, new_h = int(height * sin + width * cos), int(height * cos + width * sin)
    matrix[0, 2] += new_w / 2 - width / 2
    matrix[1, 2] += new_h / 2 - height / 2
    image = cv2.warpAffine(gray, matrix, (new_w, new_h), flags=cv2.INTER_LINEAR, borderValue=255)
    return image, matrix


def pad(gray: np.ndarray, border: int) -> tuple[np.ndarray, Affine]:
    """Add a white quiet zone: codes printed right up to the image edge have none."""
    image = cv2.copyMakeBorder(gray, border, border, border, border, cv2.BORDER_CONSTANT, value=255)
    return image, np.array([[1.0, 0, border], [0, 1.0, border]])


def clahe(gray: np.ndarray) -> np.ndarray:
    """Local contrast equalisation: lifts bars out of glare and shadow without a global threshold."""
    return _CLAHE.apply(gray)


def otsu(gray: np.ndarray) -> np.ndarray:
    return cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)[1]


def sharpen_across(gray: np.ndarray, *, sigma: float = 1.5, amount: float = 1.5) -> np.ndarray:
    """Unsharp masking along rows only: restores bar edges blurred by focus or motion across vertical bars."""
    smooth = cv2.GaussianBlur(gray, (0, 0), sigmaX=sigma, sigmaY=1e-3)
    return cv2.addWeighted(gray, 1 + amount, smooth, -amount, 0)


def invert(gray: np.ndarray) -> np.ndarray:
    """Light-on-dark codes (inverted prints, screens) are only read by zbar after inversion."""
    return cv2.bitwise_not(gray)


def map_back(points: tuple[tuple[int, int], ...], affine: Affine) -> tuple[tuple[int, int], ...]:
    """Map points from a derived image to the input frame, reduced to their convex hull."""
    if not points:
        return ()
    inverse = cv2.invertAffineTransform(affine)
    src = np.array(points, dtype=np.float64)
    mapped = src @ inverse[:, :2].T + inverse[:, 2]
    hull = cv2.convexHull(np.round(mapped).astype(np.int32))
    return tuple((int(x), int(y)) for x, y in hull.reshape(-1, 2))
