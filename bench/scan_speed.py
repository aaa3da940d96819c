"""Live-camera decode time per frame at 1280x720 and 1920x1080, as the app's camera path runs it.

Usage: .venv/bin/python bench/scan_speed.py [--labels N] [--frames-per-label K] [--no-zxing]

A camera held on a parcel delivers many frames of the same label, and frames with no label
while the driver aims. This replays that: for every synthetic label (scan_synthetic's formats,
clean and distorted) K consecutive frames of it at the target size with fresh sensor noise,
then K frames of an empty scene, as BGR like a camera's, all through one
`ScanPipeline.scan_live` (the stages a frame has no time for are deferred to the next frames).
Prints median and p95 ms per frame (label frames, empty frames, all) of wall time and of this
thread's CPU time (OpenCV is kept on this thread), the share of labels read, and the load
average before and after: the machine is shared, so wall times are only comparable at similar
load; CPU time is what the frame cost, however busy the machine is.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import cv2
import numpy as np
from scan_synthetic import DISTORTIONS, frame_for, labels, scene

from driver_app.adapters.scanning.pipeline import build_pipeline

SIZES = {"1280x720": (1280, 720), "1920x1080": (1920, 1080)}


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--labels", type=int, default=1, help="labels per format and distortion")
    parser.add_argument("--frames-per-label", type=int, default=6)
    parser.add_argument("--distortions", default="clean,perspective,curved,glare,small,motion-blur")
    parser.add_argument("--no-zxing", action="store_true")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    cv2.setNumThreads(1)  # every pixel on this thread, so its CPU time is the whole cost of a frame
    rng = np.random.default_rng(args.seed)
    chosen = args.distortions.split(",")
    unknown = set(chosen) - set(DISTORTIONS)
    if unknown:
        parser.error(f"unknown distortions: {', '.join(sorted(unknown))}")
    shots = [
        (frame_for(label, d, rng), label[1])
        for d in chosen
        for items in labels(args.labels, rng).values()
        for label in items
    ]
    print(f"load average before: {Path('/proc/loadavg').read_text().strip()}")
    print(
        f"{len(shots)} labels x {args.frames_per_label} frames, then as many empty frames; "
        f"zxing-cpp {'off' if args.no_zxing else 'on'}"
    )
    for name, size in SIZES.items():
        pipeline = build_pipeline(zxing=not args.no_zxing)
        label_ms: list[float] = []
        empty_ms: list[float] = []
        cpu_ms: list[float] = []
        read = 0
        for shot, expected in shots:
            base = cv2.resize(shot, size, interpolation=cv2.INTER_LINEAR)
            empty = cv2.resize(scene(rng), size, interpolation=cv2.INTER_LINEAR)
            seen = False
            for frames, times in ((base, label_ms), (empty, empty_ms)):
                for _ in range(args.frames_per_label):
                    noisy = cv2.add(frames, rng.integers(0, 6, size=tuple(frames.shape), dtype=np.uint8))
                    noisy = cv2.cvtColor(noisy, cv2.COLOR_GRAY2BGR)  # a camera delivers colour
                    start, cpu = time.perf_counter(), time.thread_time()
                    found = pipeline.scan_live(noisy)
                    times.append((time.perf_counter() - start) * 1000)
                    cpu_ms.append((time.thread_time() - cpu) * 1000)
                    seen |= frames is base and any(r.raw == expected for r in found)
            read += seen
        every = label_ms + empty_ms
        every_p95 = _percentile(every, 0.95)
        print(
            f"{name:>10}: all frames median {statistics.median(every):5.1f} ms p95 {every_p95:5.1f} ms"
            f" | label frames {statistics.median(label_ms):5.1f}/{_percentile(label_ms, 0.95):5.1f}"
            f" | empty frames {statistics.median(empty_ms):5.1f}/{_percentile(empty_ms, 0.95):5.1f}"
            f" | labels read {read}/{len(shots)}",
            flush=True,
        )
        print(
            f"{'':>10}  CPU time of this thread per frame (what an idle core would take): "
            f"median {statistics.median(cpu_ms):5.1f} ms p95 {_percentile(cpu_ms, 0.95):5.1f} ms"
        )
    print(f"load average after: {Path('/proc/loadavg').read_text().strip()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
