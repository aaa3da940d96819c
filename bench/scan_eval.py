"""Evaluate the barcode pipeline on a folder of labelled photos and print the table we report.

Usage: python bench/scan_eval.py [DIR]   (default: ../shared/barcodes beside the clone)

DIR holds one sub-folder per set; `NAME.png|webp|jpg` with `NAME.txt` = the exact expected
bytes; `falsepositives-*` sets have no .txt and must yield nothing. An image counts as read
correctly when one result's bytes equal NAME.txt exactly. Times are for decoding the already
loaded frame (file decoding excluded; load time is reported on its own line).

Columns: `pipeline` (zbar with the staged pre-processing, the default), `+zxing` (the same
with the optional zxing-cpp extra as a 2D fallback), `+zxing-all` (the same, but zxing-cpp
may also return the 1D formats and QR when zbar read nothing), `zxing` (zxing-cpp alone, one
call, all formats) and `pyzbar` (plain single `pyzbar.decode` on the gray frame, all symbologies).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2
import numpy as np
from pyzbar import pyzbar

from driver_app.scanning.imaging import to_gray
from driver_app.scanning.pipeline import ScanPipeline
from driver_app.scanning.sources import IMAGE_SUFFIXES, load_image
from driver_app.scanning.zxing_decoder import load_zxing

ZBAR_SETS = ("code128", "code39", "itf", "ean13", "ean8", "upca", "upce", "qrcode")
Decoder = Callable[[np.ndarray], list[bytes]]


@dataclass
class Tally:
    correct: int = 0
    total: int = 0
    wrong: int = 0  # a result, but not the expected text (misread), or anything on a false-positive image
    ms: list[float] = field(default_factory=list)
    negatives: int = 0  # images of false-positive sets, in totals
    false_positives: int = 0

    def add(self, other: Tally, *, negative: bool) -> None:
        self.negatives += other.total if negative else 0
        self.false_positives += other.wrong if negative else 0
        self.correct += other.correct
        self.total += other.total
        self.wrong += other.wrong
        self.ms += other.ms

    def cell(self, positive: bool) -> str:
        times = sorted(self.ms) or [0.0]
        median = statistics.median(times)
        p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
        score = f"{self.correct}/{self.total}" if positive else f"FP {self.wrong}"
        misread = f" !{self.wrong}" if positive and self.wrong else ""
        return f"{score}{misread} {median:5.1f}/{p95:5.1f}"


def decoders() -> dict[str, Decoder]:
    pipeline = ScanPipeline()
    zx_extra = load_zxing()
    with_zxing = ScanPipeline(second=zx_extra)
    zx_all = load_zxing(two_d_only=False)
    found: dict[str, Decoder] = {"pipeline": lambda f: [r.raw for r in pipeline.scan(f)]}
    if zx_extra is not None and zx_all is not None:
        found["+zxing"] = lambda f: [r.raw for r in with_zxing.scan(f)]
        with_zxing_all = ScanPipeline(second=load_zxing(two_d_only=False))
        found["+zxing-all"] = lambda f: [r.raw for r in with_zxing_all.scan(f)]
        found["zxing"] = lambda f: [r.raw for r in zx_all.decode(to_gray(f))]
    found["pyzbar"] = lambda f: [d.data for d in pyzbar.decode(to_gray(f))]
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default = Path(__file__).resolve().parents[2] / "shared" / "barcodes"  # `make bench` passes no argument
    parser.add_argument("dir", type=Path, nargs="?", default=default)
    args = parser.parse_args()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)  # OpenCV logs codec refusals we handle
    names = list(decoders())
    runners = decoders()
    totals = {"zbar formats": {n: Tally() for n in names}, "all sets": {n: Tally() for n in names}}
    load_ms: list[float] = []
    header = f"{'set':<18}" + "".join(f"{n:>28}" for n in names)
    print("cells: correct/total [!misreads] median/p95 ms per image; false-positive sets: FP count;")
    print("totals: correct/positives !misreads FP<false positives> median/p95 ms over all images incl. negatives")
    print(header)
    for folder in sorted(p for p in args.dir.iterdir() if p.is_dir()):
        negative = folder.name.startswith("falsepositives")
        row = {n: Tally() for n in names}
        for image in sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
            expected_file = image.with_suffix(".txt")
            if not negative and not expected_file.exists():
                continue
            expected = None if negative else expected_file.read_bytes()
            start = time.perf_counter()
            frame = load_image(image)
            load_ms.append((time.perf_counter() - start) * 1000)
            for name, decode in runners.items():
                start = time.perf_counter()
                found = decode(frame)
                row[name].ms.append((time.perf_counter() - start) * 1000)
                row[name].total += 1
                if expected is None:
                    row[name].wrong += bool(found)
                elif expected in found:
                    row[name].correct += 1
                elif found:
                    row[name].wrong += 1
        print(f"{folder.name:<18}" + "".join(f"{row[n].cell(not negative):>28}" for n in names), flush=True)
        zbar_set = negative or folder.name.split("-")[0] in ZBAR_SETS
        for name in names:
            totals["all sets"][name].add(row[name], negative=negative)
            if zbar_set:
                totals["zbar formats"][name].add(row[name], negative=negative)
    for label, tallies in totals.items():
        print(f"{label:<18}" + "".join(f"{_total_cell(t):>28}" for t in tallies.values()))
    load_ms.sort()
    print(f"image file load (not included above): median {statistics.median(load_ms):.1f} ms, "
          f"p95 {load_ms[round(0.95 * (len(load_ms) - 1))]:.1f} ms")
    return 0


def _total_cell(tally: Tally) -> str:
    times = sorted(tally.ms)
    p95 = times[round(0.95 * (len(times) - 1))]
    positives = tally.total - tally.negatives
    misreads = tally.wrong - tally.false_positives
    return (f"{tally.correct}/{positives} !{misreads} FP{tally.false_positives} "
            f"{statistics.median(times):5.1f}/{p95:5.1f}")


if __name__ == "__main__":
    sys.exit(main())
