"""A camera frame drawn in the terminal with half blocks: each cell shows two pixels, ▀ = fg over bg."""

from __future__ import annotations

import cv2
import numpy as np
from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

__all__ = ["CameraPreview", "downscale", "fit", "half_block_strip"]


def fit(frame_width: int, frame_height: int, cols: int, rows: int) -> tuple[int, int]:
    """The largest (cols, rows) inside the given ones that keeps the frame's aspect ratio.

    A terminal cell is about twice as tall as wide, and a half block splits it in two: its pixels
    are square, so a frame w×h needs w/h columns per pixel row (two per text row).
    """
    want_cols = round(2 * rows * frame_width / frame_height)
    if want_cols <= cols:
        return max(want_cols, 1), rows
    return cols, max(round(cols * frame_height / frame_width / 2), 1)


def downscale(frame: np.ndarray, cols: int, rows: int) -> np.ndarray:
    """BGR or grey frame → RGB pixels of shape (2*rows, cols, 3), the aspect ratio left to the caller."""
    if frame.ndim == 2:
        frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    small = cv2.resize(frame, (max(cols, 1), max(2 * rows, 2)), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(small, cv2.COLOR_BGR2RGB)


def half_block_strip(pixels: np.ndarray, row: int) -> Strip:
    """Terminal row `row`: upper pixel as the foreground of ▀, lower pixel as its background."""
    top, bottom = pixels[2 * row], pixels[2 * row + 1]
    return Strip(
        [
            Segment("▀", Style(color=Color.from_rgb(*t), bgcolor=Color.from_rgb(*b)))
            for t, b in zip(top.tolist(), bottom.tolist(), strict=True)
        ]
    )


class CameraPreview(Widget):
    """Shows the latest frame only; rendering cost is bounded by the widget's size, not the frame's."""

    DEFAULT_CSS = """
    CameraPreview { height: 8; width: 1fr; background: $surface-darken-1; }
    """

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._frame: np.ndarray | None = None
        self._pixels: np.ndarray | None = None

    def show_frame(self, frame: np.ndarray) -> None:
        self._frame = frame
        self._pixels = None
        self.refresh()

    def on_resize(self) -> None:
        self._pixels = None

    def render_line(self, y: int) -> Strip:
        width, height = self.content_size
        if self._frame is None or width == 0 or height == 0:
            return Strip.blank(width, self.rich_style)
        if self._pixels is None:
            cols, rows = fit(self._frame.shape[1], self._frame.shape[0], width, height)
            self._pixels = downscale(self._frame, cols, rows)
        rows, cols = self._pixels.shape[0] // 2, self._pixels.shape[1]
        if y >= rows:
            return Strip.blank(width, self.rich_style)
        left = (width - cols) // 2
        pad = self.rich_style
        return Strip.join(
            [Strip.blank(left, pad), half_block_strip(self._pixels, y), Strip.blank(width - cols - left, pad)]
        )
