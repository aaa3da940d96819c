"""Frame sources: image files, video files, folders of them, and cameras (OpenCV VideoCapture).

Every source is a plain iterator of BGR/gray numpy frames, so a worker thread can pull frames
and the pipeline never knows where they came from.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from driver_app.core.errors import ClientReason

from .errors import SourceError

__all__ = ["IMAGE_SUFFIXES", "VIDEO_SUFFIXES", "camera_frames", "expand_paths", "file_frames", "load_image"]

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"})
VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v"})


def expand_paths(paths: list[Path], *, recursive: bool = False) -> list[Path]:
    """Files as given; a directory becomes the image and video files inside it (and, when
    `recursive`, inside its sub-folders), sorted by path so a run is repeatable."""
    expanded: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = path.rglob("*") if recursive else path.iterdir()
            expanded.extend(
                sorted(
                    p for p in found if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES
                )
            )
        else:
            expanded.append(path)
    return expanded


def load_image(path: Path) -> np.ndarray:
    """Decode an image file to a BGR or gray array; Pillow covers what OpenCV's codecs refuse."""
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as err:
        raise SourceError(
            ClientReason.UNREADABLE_FILE, f"{path}: cannot read file ({err.strerror or err})"
        ) from err
    frame = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if frame is not None:
        return frame
    return _load_with_pillow(path)


def _load_with_pillow(path: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("L"))
    except (UnidentifiedImageError, OSError, ValueError) as err:
        raise SourceError(ClientReason.NOT_AN_IMAGE, f"{path}: not a readable image") from err


def file_frames(path: Path, *, every: int = 1) -> Iterator[np.ndarray]:
    """The frames of an image file (one) or a video file (every `every`-th)."""
    if not path.exists():
        raise SourceError(ClientReason.NO_SUCH_FILE, f"{path}: no such file")
    if path.suffix.lower() in VIDEO_SUFFIXES:
        yield from _capture_frames(_capture(str(path)), str(path), every=every)
    else:
        yield load_image(path)


def camera_frames(index: int = 0) -> Iterator[np.ndarray]:
    """Live frames from a camera; raises SourceError when there is none (e.g. no device here)."""
    yield from _capture_frames(_capture(index), f"camera {index}", every=1)


def _capture(source: str | int) -> cv2.VideoCapture:
    """Open a capture with FFmpeg's own stderr logging off (e.g. `moov atom not found`): our
    SourceError says what failed. OpenCV reads the variable when FFmpeg is first used; a value
    the user set explicitly is kept."""
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET
    return cv2.VideoCapture(source)


def _capture_frames(capture: cv2.VideoCapture, label: str, *, every: int) -> Iterator[np.ndarray]:
    if not capture.isOpened():
        raise SourceError(ClientReason.CANNOT_OPEN_VIDEO, f"{label}: cannot open video")
    try:
        index = 0
        while True:
            ok, frame = capture.read()
            if not ok:
                if index == 0:
                    raise SourceError(ClientReason.CANNOT_OPEN_VIDEO, f"{label}: no frames could be decoded")
                return
            if index % every == 0:
                yield frame
            index += 1
    finally:
        capture.release()
