"""Compare the scan pipeline with the plain open decoders on labelled photos, in one run on the same files.

Usage: .venv/bin/python bench/scan_eval.py [DIR] [--tuning] [--misses]
       (DIR defaults to the nearest shared/barcodes beside the clone or one of its parents)

DIR holds one sub-folder per set; `NAME.png|webp|jpg` with `NAME.txt` = the exact expected
bytes; `falsepositives-*` sets have no .txt and must yield nothing. An image counts as read
when one result's bytes equal NAME.txt exactly; a misread is an image with results but not
the expected one; any result on a false-positive image is a false positive. Times are for
decoding the already loaded frame (file decoding excluded; load time is on its own line).

Held-out part (chosen before any tuning, never tuned on): the images whose
sha256("SET/FILENAME") starts with a byte below 64, about a quarter of every set (49 of the
168 images of the shared set). `--tuning` hides every held-out figure, `--misses` lists the
tuned part's misses by name; held-out images are never listed.

Columns, each on the same frames:
  pyzbar     one `pyzbar.decode` of the gray frame, parcel symbologies;
  zxing      one `zxingcpp.read_barcodes` of the gray frame, parcel formats;
  union      an image counts as read when either of the two read it (time: both);
  pipeline   the app's scanner (`ScanPipeline` with zxing-cpp, still-image mode);
  no-zxing   the app's scanner without zxing-cpp (`driver-app scan --no-zxing`).
UPC-A is reported in its EAN-13 form (a leading 0) by every column, as the expected files have it.
"""

from __future__ import annotations

import argparse
import hashlib
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

from driver_app.adapters.scanning.imaging import to_gray
from driver_app.adapters.scanning.pipeline import ScanPipeline
from driver_app.adapters.scanning.sources import IMAGE_SUFFIXES, load_image
from driver_app.adapters.scanning.zxing_decoder import load_zxing

Decoder = Callable[[np.ndarray], set[bytes]]
_HELD_OUT_BELOW = 64  # first sha256 byte below this: held out (64/256 = a quarter)
_PYZBAR_SYMBOLS = [
    pyzbar.ZBarSymbol.CODE128,
    pyzbar.ZBarSymbol.CODE39,
    pyzbar.ZBarSymbol.I25,
    pyzbar.ZBarSymbol.EAN13,
    pyzbar.ZBarSymbol.EAN8,
    pyzbar.ZBarSymbol.UPCA,
    pyzbar.ZBarSymbol.UPCE,
    pyzbar.ZBarSymbol.QRCODE,
]


def is_held_out(image: Path) -> bool:
    """The held-out rule: fixed before tuning, by name only, so it never depends on results."""
    return hashlib.sha256(f"{image.parent.name}/{image.name}".encode()).digest()[0] < _HELD_OUT_BELOW


@dataclass
class Tally:
    read: int = 0
    positives: int = 0
    misreads: int = 0
    negatives: int = 0
    false_positives: int = 0
    ms: list[float] = field(default_factory=list)

    def count(self, expected: bytes | None, found: set[bytes], ms: float) -> bool:
        """Add one image; True when it was read correctly (or, for a negative, left empty)."""
        self.ms.append(ms)
        if expected is None:
            self.negatives += 1
            self.false_positives += bool(found)
            return not found
        self.positives += 1
        if expected in found:
            self.read += 1
            return True
        self.misreads += bool(found)
        return False

    def add(self, other: Tally) -> None:
        for name in ("read", "positives", "misreads", "negatives", "false_positives"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.ms += other.ms

    def cell(self) -> str:
        if not self.ms:
            return "-"
        times = sorted(self.ms)
        p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
        score = f"{self.read}/{self.positives}" if self.positives else ""
        flags = (f" !{self.misreads}" if self.misreads else "") + (
            f" FP{self.false_positives}" if self.negatives else ""
        )
        return f"{score}{flags} {statistics.median(times):.1f}/{p95:.1f}".strip()


def _upca_as_ean13(kind: str, data: bytes) -> bytes:
    return b"0" + data if kind == "UPCA" and len(data) == 12 else data


def decoders() -> dict[str, Decoder]:
    zx_all = load_zxing()
    if zx_all is None:
        raise SystemExit("scan_eval needs the zxing extra: pip install -e '.[zxing]'")
    pipeline = ScanPipeline(second=zx_all)
    alone = ScanPipeline()
    return {
        "pyzbar": lambda f: {
            _upca_as_ean13(d.type, d.data) for d in pyzbar.decode(to_gray(f), symbols=_PYZBAR_SYMBOLS)
        },
        "zxing": lambda f: {r.raw for r in zx_all.decode(to_gray(f))},
        "pipeline": lambda f: {r.raw for r in pipeline.scan(f)},
        "no-zxing": lambda f: {r.raw for r in alone.scan(f)},
    }


COLUMNS = ("pyzbar", "zxing", "union", "pipeline", "no-zxing")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    # `make bench` passes no argument: the shared set beside the clone (or beside a worktree's parent)
    beside = [parent / "shared" / "barcodes" for parent in Path(__file__).resolve().parents[1:]]
    default = next((path for path in beside if path.is_dir()), beside[1])
    parser.add_argument("dir", type=Path, nargs="?", default=default)
    parser.add_argument("--tuning", action="store_true", help="hide every held-out figure")
    parser.add_argument("--misses", action="store_true", help="list the tuned part's misses per column")
    args = parser.parse_args()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)  # OpenCV logs codec refusals we handle
    runners = decoders()
    print(f"load average before: {Path('/proc/loadavg').read_text().strip()}")
    print("cells: read/positives [!misreads] [FP false positives] median/p95 ms per image")
    parts = ("tuned",) if args.tuning else ("tuned", "held-out")
    rows: dict[str, dict[str, dict[str, Tally]]] = {part: {} for part in parts}
    misses: dict[str, list[str]] = {name: [] for name in COLUMNS}
    load_ms: list[float] = []
    for folder in sorted(p for p in args.dir.iterdir() if p.is_dir()):
        negative = folder.name.startswith("falsepositives")
        for image in sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
            part = "held-out" if is_held_out(image) else "tuned"
            expected_file = image.with_suffix(".txt")
            if part not in parts or (not negative and not expected_file.exists()):
                continue
            expected = None if negative else expected_file.read_bytes()
            start = time.perf_counter()
            frame = load_image(image)
            load_ms.append((time.perf_counter() - start) * 1000)
            tallies = rows[part].setdefault(folder.name, {name: Tally() for name in COLUMNS})
            found: dict[str, set[bytes]] = {}
            spent: dict[str, float] = {}
            for name, decode in runners.items():
                start = time.perf_counter()
                found[name] = decode(frame)
                spent[name] = (time.perf_counter() - start) * 1000
            found["union"] = found["pyzbar"] | found["zxing"]
            if expected is not None and expected in found["union"]:
                found["union"] = {expected}  # read by one: the other's miss or misread does not count
            spent["union"] = spent["pyzbar"] + spent["zxing"]
            for name in COLUMNS:
                if not tallies[name].count(expected, found[name], spent[name]) and part == "tuned":
                    misses[name].append(f"{folder.name}/{image.name}")
    header = f"{'set':<22}" + "".join(f"{name:>26}" for name in COLUMNS)
    overall = {name: Tally() for name in COLUMNS}
    for part in parts:
        print(f"\n== {part} part ==")
        print(header)
        total = {name: Tally() for name in COLUMNS}
        for set_name, tallies in sorted(rows[part].items()):
            print(f"{set_name:<22}" + "".join(f"{tallies[n].cell():>26}" for n in COLUMNS))
            for name in COLUMNS:
                total[name].add(tallies[name])
                overall[name].add(tallies[name])
        print(f"{'TOTAL ' + part:<22}" + "".join(f"{total[n].cell():>26}" for n in COLUMNS))
    if len(parts) > 1:
        print(f"\n{'TOTAL all':<22}" + "".join(f"{overall[n].cell():>26}" for n in COLUMNS))
    load_ms.sort()
    print(
        f"\nimage file load (not included above): median {statistics.median(load_ms):.1f} ms, "
        f"p95 {load_ms[round(0.95 * (len(load_ms) - 1))]:.1f} ms"
    )
    print(f"load average after: {Path('/proc/loadavg').read_text().strip()}")
    if args.misses:
        for name in COLUMNS:
            print(f"tuned misses {name}: {' '.join(misses[name]) or '-'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
