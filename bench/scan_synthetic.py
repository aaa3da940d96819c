"""Read rates on generated parcel labels under the distortions a phone camera adds.

Usage: python bench/scan_synthetic.py [--labels N] [--seed S]

Each format's labels are rendered (python-barcode, segno), placed at a random position and
angle on a cluttered VGA scene, then distorted: perspective warp, motion blur, a glare blob,
strong JPEG compression, low light with sensor noise, and a small print (thin bars). The same
scenes without a label count false positives. Everything is seeded, so two runs see the same
images; columns as in scan_eval.py; a cell is read/total (an image counts when one result equals the label's text exactly),
with misreads as !N, and the median/p95 decode ms.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import barcode
import cv2
import numpy as np
import segno
from barcode.writer import ImageWriter

from driver_app.scanning.pipeline import ScanPipeline
from driver_app.scanning.zxing_decoder import load_zxing

SCENE = (480, 640)
Label = tuple[np.ndarray, bytes]  # gray label image, expected bytes
Distortion = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def _render_1d(kind: str, data: str, **options: object) -> Label:
    symbol = barcode.get_barcode_class(kind)(data, writer=ImageWriter(), **options)
    buffer = io.BytesIO()
    symbol.write(buffer, {"module_width": 0.33, "module_height": 10.0, "quiet_zone": 4.0, "font_size": 6, "dpi": 200})
    image = cv2.imdecode(np.frombuffer(buffer.getvalue(), np.uint8), cv2.IMREAD_GRAYSCALE)
    text = symbol.get_fullcode()
    if kind == "upca":
        text = "0" + text  # the pipeline reports UPC-A in its EAN-13 form
    return image, text.encode()


def _render_qr(data: str) -> Label:
    buffer = io.BytesIO()
    segno.make_qr(data, error="m").save(buffer, kind="png", scale=4, border=4)
    return cv2.imdecode(np.frombuffer(buffer.getvalue(), np.uint8), cv2.IMREAD_GRAYSCALE), data.encode()


def labels(count: int, rng: np.random.Generator) -> dict[str, list[Label]]:
    digits = lambda n: "".join(str(d) for d in rng.integers(0, 10, n))  # noqa: E731
    alnum = lambda n: "".join(rng.choice(list("ABCDEFGHJKLMNPRSTUVWXYZ0123456789"), n))  # noqa: E731
    return {
        "code128": [_render_1d("code128", f"1Z{alnum(6)}{digits(10)}") for _ in range(count)],
        "code39": [_render_1d("code39", alnum(8), add_checksum=False) for _ in range(count)],
        "itf": [_render_1d("itf", digits(14)) for _ in range(count)],
        "ean13": [_render_1d("ean13", digits(12)) for _ in range(count)],
        "ean8": [_render_1d("ean8", digits(7)) for _ in range(count)],
        "upca": [_render_1d("upca", digits(11)) for _ in range(count)],
        "qrcode": [_render_qr(f"PARCEL:{alnum(10)}:{digits(6)}") for _ in range(count)],
    }


def scene(rng: np.random.Generator) -> np.ndarray:
    """A cluttered background: a lighting gradient, boxes and lines of 'text' like a lobby wall or a parcel."""
    h, w = SCENE
    ramp = np.linspace(rng.uniform(60, 140), rng.uniform(120, 220), w, dtype=np.float32)
    canvas = np.tile(ramp, (h, 1)).astype(np.uint8)
    for _ in range(12):
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        cv2.rectangle(canvas, (x, y), (x + int(rng.integers(20, 200)), y + int(rng.integers(10, 120))),
                      float(rng.uniform(20, 240)), -1)
    for _ in range(8):
        x, y = int(rng.integers(0, w - 100)), int(rng.integers(10, h))
        cv2.putText(canvas, "Paket Hausnr 12 B", (x, y), cv2.FONT_HERSHEY_SIMPLEX, rng.uniform(0.3, 0.8),
                    float(rng.uniform(0, 80)), 1)
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
    warped = cv2.warpAffine(label, matrix, (SCENE[1], SCENE[0]), flags=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR,
                            borderValue=0)
    mask = cv2.warpAffine(np.full_like(label, 255), matrix, (SCENE[1], SCENE[0]), borderValue=0)
    return np.where(mask > 127, warped, background).astype(np.uint8)


def perspective(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = image.shape
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = (src + rng.uniform(-0.12, 0.12, (4, 2)) * (w, h)).astype(np.float32)
    return cv2.warpPerspective(image, cv2.getPerspectiveTransform(src, dst), (w, h), borderMode=cv2.BORDER_REPLICATE)


def motion_blur(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    length = int(rng.integers(5, 10))
    kernel = np.zeros((length, length), np.float32)
    kernel[length // 2, :] = 1.0 / length
    rotation = cv2.getRotationMatrix2D((length / 2 - 0.5, length / 2 - 0.5), rng.uniform(0, 180), 1.0)
    kernel = cv2.warpAffine(kernel, rotation, (length, length))
    return cv2.filter2D(image, -1, kernel / max(kernel.sum(), 1e-6))


def glare(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = image.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cx, cy, radius = rng.uniform(0.3, 0.7) * w, rng.uniform(0.3, 0.7) * h, rng.uniform(40, 110)
    blob = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * radius**2)) * rng.uniform(120, 200)
    return np.clip(image.astype(np.float32) + blob, 0, 255).astype(np.uint8)


def jpeg(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(12, 25))])
    assert ok
    return cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)


def low_light(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    dark = image.astype(np.float32) * rng.uniform(0.2, 0.3) + 5
    return np.clip(dark + rng.normal(0, 6, image.shape), 0, 255).astype(np.uint8)


DISTORTIONS: dict[str, tuple[float, Distortion | None]] = {
    # name: (label scale, distortion applied to the whole scene)
    "clean": (1.0, None),
    "perspective": (1.0, perspective),
    "motion-blur": (1.0, motion_blur),
    "glare": (1.0, glare),
    "jpeg": (1.0, jpeg),
    "low-light": (1.0, low_light),
    "small": (0.6, None),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--labels", type=int, default=6, help="labels per format and distortion")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    sets = labels(args.labels, rng)
    pipelines = {"pipeline": ScanPipeline()}
    if (second := load_zxing()) is not None:
        pipelines["+zxing"] = ScanPipeline(second=second)
        pipelines["+zxing-all"] = ScanPipeline(second=load_zxing(two_d_only=False))
    print(f"{args.labels} labels per cell; cells: read/total [!misreads] median/p95 ms")
    print(f"{'format':<10}{'distortion':<13}" + "".join(f"{name:>26}" for name in pipelines))
    totals = {name: [0, 0, 0, []] for name in pipelines}
    for fmt, items in sets.items():
        for distortion, (scale, distort) in DISTORTIONS.items():
            frames = []
            for label, expected in items:
                frame = place(scene(rng), label, rng, scale=scale)
                frames.append((distort(frame, rng) if distort else frame, expected))
            cells = []
            for name, pipeline in pipelines.items():
                read, wrong, times = _run(pipeline, frames)
                totals[name][0] += read
                totals[name][1] += len(frames)
                totals[name][2] += wrong
                totals[name][3] += times
                cells.append(_cell(read, len(frames), wrong, times))
            print(f"{fmt:<10}{distortion:<13}" + "".join(f"{cell:>26}" for cell in cells), flush=True)
    negatives = []
    for _, distort in DISTORTIONS.values():
        for _ in range(args.labels):
            frame = scene(rng)
            negatives.append((distort(frame, rng) if distort else frame, None))
    cells = []
    for pipeline in pipelines.values():
        _, false_positives, times = _run(pipeline, negatives)
        cells.append(f"FP {false_positives}/{len(negatives)} {_times(times)}")
    print(f"{'no label':<23}" + "".join(f"{cell:>26}" for cell in cells))
    print(f"{'total':<23}" + "".join(f"{_cell(r, n, w, t):>26}" for r, n, w, t in totals.values()))
    return 0


def _run(pipeline: ScanPipeline, frames: list[tuple[np.ndarray, bytes | None]]) -> tuple[int, int, list[float]]:
    read = wrong = 0
    times = []
    for frame, expected in frames:
        start = time.perf_counter()
        found = [r.raw for r in pipeline.scan(frame)]
        times.append((time.perf_counter() - start) * 1000)
        if expected is not None and expected in found:
            read += 1
        elif found:
            wrong += 1
    return read, wrong, times


def _times(times: list[float]) -> str:
    ordered = sorted(times)
    return f"{statistics.median(ordered):5.1f}/{ordered[round(0.95 * (len(ordered) - 1))]:5.1f}"


def _cell(read: int, total: int, wrong: int, times: list[float]) -> str:
    misread = f" !{wrong}" if wrong else ""
    return f"{read}/{total}{misread} {_times(times)}"


if __name__ == "__main__":
    sys.exit(main())
