"""Read rates on generated parcel labels under the distortions a phone camera adds.

Usage: .venv/bin/python bench/scan_synthetic.py [--labels N] [--seed S]

Each format's labels are rendered (python-barcode, segno, zxing-cpp's writer), distorted as a
label (curved round a parcel, turned 35-50 degrees away from the camera, printed small with
1-1.5 px modules, blurred by motion across the bars, printed in low contrast), placed at a random
position and angle on a cluttered VGA scene, and/or distorted as a scene (perspective, motion
blur in any direction, a glare blob, strong JPEG, low light with noise). The same scenes without
a label count false positives. Everything is seeded, so two runs see the same images. These
cases are what the pipeline's misses on unseen photos have in common; they are not the shared
photos. Columns as in scan_eval.py (pyzbar, zxing, union, pipeline, no-zxing); a cell is
read/total [!misreads] median/p95 ms.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import barcode
import cv2
import numpy as np
import segno
import zxingcpp
from barcode.writer import ImageWriter
from scan_eval import COLUMNS, Tally, decoders

from tests.label_images import gray

SCENE = (480, 640)
Label = tuple[np.ndarray, bytes, float]  # gray label image, expected bytes, module size in pixels
Distortion = Callable[[np.ndarray, np.random.Generator], np.ndarray]
_DPI = 200


def _render_1d(kind: str, data: str, **options: object) -> Label:
    symbol = barcode.get_barcode_class(kind)(data, writer=ImageWriter(), **options)
    buffer = io.BytesIO()
    module_mm = 0.33
    symbol.write(
        buffer,
        {"module_width": module_mm, "module_height": 10.0, "quiet_zone": 4.0, "font_size": 6, "dpi": _DPI},
    )
    image = gray(buffer.getvalue())
    text = symbol.get_fullcode()
    if kind == "upca":
        text = "0" + text  # the pipeline reports UPC-A in its EAN-13 form
    return image, text.encode(), module_mm * _DPI / 25.4


def _render_qr(data: str) -> Label:
    buffer = io.BytesIO()
    segno.make_qr(data, error="m").save(buffer, kind="png", scale=4, border=4)
    return gray(buffer.getvalue()), data.encode(), 4.0


def _render_zxing(fmt: str, data: str, scale: int = 3) -> Label:
    symbol = zxingcpp.create_barcode(data, getattr(zxingcpp.BarcodeFormat, fmt))
    return np.asarray(zxingcpp.write_barcode_to_image(symbol, scale=scale)), data.encode(), float(scale)


def labels(count: int, rng: np.random.Generator) -> dict[str, list[Label]]:
    def digits(n: int) -> str:
        return "".join(str(d) for d in rng.integers(0, 10, size=n))

    def alnum(n: int) -> str:
        return "".join(rng.choice(list("ABCDEFGHJKLMNPRSTUVWXYZ0123456789"), size=n))

    return {
        "code128": [_render_1d("code128", f"1Z{alnum(6)}{digits(10)}") for _ in range(count)],
        "code39": [_render_1d("code39", alnum(8), add_checksum=False) for _ in range(count)],
        "itf": [_render_1d("itf", digits(14)) for _ in range(count)],
        "ean13": [_render_1d("ean13", digits(12)) for _ in range(count)],
        "ean8": [_render_1d("ean8", digits(7)) for _ in range(count)],
        "upca": [_render_1d("upca", digits(11)) for _ in range(count)],
        "qrcode": [_render_qr(f"PARCEL:{alnum(10)}:{digits(6)}") for _ in range(count)],
        "datamatrix": [_render_zxing("DataMatrix", f"1Z{alnum(6)}{digits(10)}") for _ in range(count)],
        "pdf417": [
            _render_zxing("PDF417", f"1Z{alnum(6)}{digits(10)} ROUTE {digits(3)}", 2) for _ in range(count)
        ],
    }


def scene(rng: np.random.Generator) -> np.ndarray:
    """A cluttered background: a lighting gradient, boxes and lines of 'text' like a lobby wall or a parcel."""
    h, w = SCENE
    ramp = np.linspace(rng.uniform(60, 140), rng.uniform(120, 220), w, dtype=np.float32)
    canvas = np.tile(ramp, (h, 1)).astype(np.uint8)
    for _ in range(12):
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        cv2.rectangle(
            canvas,
            (x, y),
            (x + int(rng.integers(20, 200)), y + int(rng.integers(10, 120))),
            float(rng.uniform(20, 240)),
            -1,
        )
    for _ in range(8):
        x, y = int(rng.integers(0, w - 100)), int(rng.integers(10, h))
        cv2.putText(
            canvas,
            "Paket Hausnr 12 B",
            (x, y),
            cv2.FONT_HERSHEY_SIMPLEX,
            rng.uniform(0.3, 0.8),
            float(rng.uniform(0, 80)),
            1,
        )
    return canvas


def place(background: np.ndarray, label: np.ndarray, rng: np.random.Generator, *, scale: float) -> np.ndarray:
    """Paste the label (white paper) at a random angle and position; the label stays fully in view."""
    h, w = label.shape
    scale = min(scale, 0.9 * min(SCENE) / np.hypot(h, w) * 1.4, 0.9 * SCENE[1] / w)
    angle = float(rng.choice([rng.uniform(-25, 25), rng.uniform(-25, 25) + 90, rng.uniform(0, 360)]))
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
    corners = np.array([[0, 0, 1], [w, 0, 1], [0, h, 1], [w, h, 1]], np.float64) @ matrix.T
    span = corners.max(axis=0) - corners.min(axis=0)
    if span[0] > SCENE[1] or span[1] > SCENE[0]:  # too big at this angle: shrink to fit
        shrink = 0.95 * min(SCENE[1] / span[0], SCENE[0] / span[1])
        matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale * shrink)
        corners = np.array([[0, 0, 1], [w, 0, 1], [0, h, 1], [w, h, 1]], np.float64) @ matrix.T
        span = corners.max(axis=0) - corners.min(axis=0)
    x = rng.uniform(0, max(1.0, SCENE[1] - span[0])) - corners[:, 0].min()
    y = rng.uniform(0, max(1.0, SCENE[0] - span[1])) - corners[:, 1].min()
    matrix[:, 2] += (x, y)
    warped = cv2.warpAffine(
        label,
        matrix,
        (SCENE[1], SCENE[0]),
        flags=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR,
        borderValue=0,
    )
    mask = cv2.warpAffine(np.full_like(label, 255), matrix, (SCENE[1], SCENE[0]), borderValue=0)
    return np.where(mask > 127, warped, background).astype(np.uint8)


# -- distortions of the label itself (before it is placed) ------------------------------------------


def curved(label: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Wrapped round a cylinder (a parcel's rounded side, a tube): modules shrink towards both edges."""
    h, w = label.shape
    half_angle = rng.uniform(0.9, 1.25)  # radians of the cylinder the label covers on each side
    radius = (w / 2) / half_angle
    out_w = int(2 * radius * np.sin(half_angle))
    xs = np.arange(out_w, dtype=np.float32) - out_w / 2
    source_x = radius * np.arcsin(np.clip(xs / radius, -1, 1)) + w / 2
    sag = rng.uniform(0.04, 0.1) * h  # seen slightly from above: the label's ends droop
    ys = np.arange(h, dtype=np.float32)
    map_x = np.tile(source_x, (h, 1))
    map_y = (
        ys[:, None]
        - sag * (1 - np.cos(source_x[None, :] / radius - half_angle))
        + sag * (1 - np.cos(half_angle))
    )
    return cv2.remap(label, map_x, map_y.astype(np.float32), cv2.INTER_LINEAR, borderValue=255)


def steep(label: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Turned 35-50 degrees away from the camera about its vertical axis (a pinhole camera's view)."""
    h, w = label.shape
    angle = np.radians(rng.uniform(35, 50)) * rng.choice([-1, 1])
    focal = distance = 1.5 * w
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    projected = []
    for x, y in corners - (w / 2, h / 2):
        depth = distance + x * np.sin(angle)
        projected.append((focal * x * np.cos(angle) / depth, focal * y / depth))
    target = np.array(projected, np.float32)
    target -= target.min(axis=0)
    size = np.ceil(target.max(axis=0)).astype(int) + 1
    matrix = cv2.getPerspectiveTransform(corners, target)
    return cv2.warpPerspective(
        label, matrix, (int(size[0]), int(size[1])), flags=cv2.INTER_AREA, borderValue=255
    )


def across_blur(label: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The hand moved across the bars while the shutter was open: a horizontal smear of 1-2 modules."""
    length = int(rng.integers(4, 8))
    return cv2.blur(label, (length, 1))


def low_contrast(label: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A worn thermal print or grey-on-brown: 25-45 grey levels between bars and spaces."""
    low = rng.uniform(110, 160)
    return (low + label.astype(np.float32) / 255 * rng.uniform(25, 45)).astype(np.uint8)


# -- distortions of the whole scene (after the label is placed) -------------------------------------


def perspective(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = image.shape
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    dst = (src + rng.uniform(-0.12, 0.12, (4, 2)) * (w, h)).astype(np.float32)
    return cv2.warpPerspective(
        image, cv2.getPerspectiveTransform(src, dst), (w, h), borderMode=cv2.BORDER_REPLICATE
    )


def motion_blur(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    length = int(rng.integers(5, 10))
    kernel = np.zeros((length, length), np.float32)
    kernel[length // 2, :] = 1.0 / length
    rotation = cv2.getRotationMatrix2D((length / 2 - 0.5, length / 2 - 0.5), rng.uniform(0, 180), 1.0)
    turned = cv2.warpAffine(kernel, rotation, (length, length))
    return cv2.filter2D(image, -1, turned / max(turned.sum(), 1e-6))


def glare(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = image.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cx, cy, radius = rng.uniform(0.3, 0.7) * w, rng.uniform(0.3, 0.7) * h, rng.uniform(40, 110)
    blob = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * radius**2)) * rng.uniform(120, 200)
    return np.clip(image.astype(np.float32) + blob, 0, 255).astype(np.uint8)


def jpeg(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(12, 25))])
    assert ok
    return gray(data)


def low_light(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    dark = image.astype(np.float32) * rng.uniform(0.2, 0.3) + 5
    return np.clip(dark + rng.normal(0, 6, image.shape), 0, 255).astype(np.uint8)


SMALL = "small"  # the label is scaled so a module is 1-1.5 px
DISTORTIONS: dict[str, tuple[Distortion | None, Distortion | None]] = {
    # name: (distortion of the label, distortion of the whole scene)
    "clean": (None, None),
    "perspective": (None, perspective),
    "steep-35-50": (steep, None),
    "curved": (curved, None),
    "motion-blur": (None, motion_blur),
    "blur-across": (across_blur, None),
    "glare": (None, glare),
    "low-contrast": (low_contrast, None),
    "jpeg": (None, jpeg),
    "low-light": (None, low_light),
    SMALL: (None, None),
}


def frame_for(label: Label, distortion: str, rng: np.random.Generator) -> np.ndarray:
    image, _, module_px = label
    label_fn, scene_fn = DISTORTIONS[distortion]
    scale = rng.uniform(1.0, 1.5) / module_px if distortion == SMALL else 1.0
    if label_fn is not None:
        image = label_fn(image, rng)
    frame = place(scene(rng), image, rng, scale=scale)
    return scene_fn(frame, rng) if scene_fn is not None else frame


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--labels", type=int, default=2, help="labels per format and distortion")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--only", help="comma-separated distortions to run (default: all)")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    sets = labels(args.labels, rng)
    runners = decoders()
    chosen = args.only.split(",") if args.only else list(DISTORTIONS)
    print(f"load average before: {Path('/proc/loadavg').read_text().strip()}")
    print(f"{args.labels} labels per format and distortion; cells: read/total [!misreads] median/p95 ms")
    print(f"{'distortion':<14}" + "".join(f"{name:>26}" for name in COLUMNS))
    totals = {name: Tally() for name in COLUMNS}
    for distortion in chosen:
        row = {name: Tally() for name in COLUMNS}
        for items in sets.values():
            for label in items:
                _count(runners, row, frame_for(label, distortion, rng), label[1])
        for _ in range(args.labels):  # the same distortion without a label: false positives
            _, scene_fn = DISTORTIONS[distortion]
            frame = scene(rng)
            _count(runners, row, scene_fn(frame, rng) if scene_fn else frame, None)
        print(f"{distortion:<14}" + "".join(f"{row[n].cell():>26}" for n in COLUMNS), flush=True)
        for name in COLUMNS:
            totals[name].add(row[name])
    print(f"{'TOTAL':<14}" + "".join(f"{totals[n].cell():>26}" for n in COLUMNS))
    print(f"load average after: {Path('/proc/loadavg').read_text().strip()}")
    return 0


def _count(
    runners: dict[str, Callable[[np.ndarray], set[bytes]]],
    row: dict[str, Tally],
    frame: np.ndarray,
    expected: bytes | None,
) -> None:
    found: dict[str, set[bytes]] = {}
    spent: dict[str, float] = {}
    for name, decode in runners.items():
        start = time.perf_counter()
        found[name] = decode(frame)
        spent[name] = (time.perf_counter() - start) * 1000
    found["union"] = found["pyzbar"] | found["zxing"]
    if expected is not None and expected in found["union"]:
        found["union"] = {expected}
    spent["union"] = spent["pyzbar"] + spent["zxing"]
    for name in COLUMNS:
        row[name].count(expected, found[name], spent[name])


if __name__ == "__main__":
    sys.exit(main())
