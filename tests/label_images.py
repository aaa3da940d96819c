"""Parcel label PNGs for tests: Code 128 tracking number + QR, rendered with python-barcode and segno."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
import segno
from barcode import Code128
from barcode.writer import ImageWriter
from PIL import Image, ImageDraw


def render_label(
    path: Path, tracking: str, address: str = "12 Elm St", *, qr_text: str | None = None
) -> Path:
    """A white ~600×400 label: the tracking number as Code 128 and as a QR code (or `qr_text`), plus an address."""
    label = Image.new("RGB", (600, 400), "white")
    bars = Code128(tracking, writer=ImageWriter()).render(
        {"write_text": False, "module_height": 18.0, "quiet_zone": 4}
    )
    bars.thumbnail((560, 200))
    label.paste(bars, (20, 20))
    qr = io.BytesIO()
    segno.make_qr(tracking if qr_text is None else qr_text, error="m").save(qr, kind="png", scale=4)
    label.paste(Image.open(qr), (440, 250))
    ImageDraw.Draw(label).text((20, 300), address, fill="black")
    label.save(path)
    return path


def render_labels(folder: Path, barcodes: dict[str, str]) -> Path:
    """`folder/<package_id>.png` for every package id → tracking number."""
    folder.mkdir(parents=True, exist_ok=True)
    for package_id, tracking in barcodes.items():
        render_label(folder / f"{package_id}.png", tracking)
    return folder


def gray(encoded: bytes | np.ndarray) -> np.ndarray:
    """Decode an encoded image (PNG, JPEG) to grayscale; OpenCV's None would mean it was no image."""
    frame = cv2.imdecode(np.frombuffer(encoded, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert frame is not None, "the bytes are not a decodable image"
    return frame
