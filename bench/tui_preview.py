"""Cost of one camera preview frame in the TUI: downscale + half-block strips, per terminal size.

    python bench/tui_preview.py [--frames 200]

The camera thread decodes; the UI thread only pays this per displayed frame, so it bounds the
preview's frame rate on a handheld.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from driver_app.tui.widgets.preview import downscale, fit, half_block_strip

SIZES = {"handheld 40x8": (40, 8), "desktop 80x12": (80, 12)}
FRAMES = {"VGA 640x480": (480, 640), "HD 1280x720": (720, 1280)}


def frame_ms(frame: np.ndarray, cols: int, rows: int) -> float:
    start = time.perf_counter()
    c, r = fit(frame.shape[1], frame.shape[0], cols, rows)
    pixels = downscale(frame, c, r)
    for y in range(r):
        half_block_strip(pixels, y)
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200)
    args = parser.parse_args()
    rng = np.random.default_rng(7)
    print(f"{'frame':<14}{'preview':<16}{'median ms':>10}{'p95 ms':>10}")
    for frame_name, (h, w) in FRAMES.items():
        frame = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
        for size_name, (cols, rows) in SIZES.items():
            times = sorted(frame_ms(frame, cols, rows) for _ in range(args.frames))
            p95 = times[int(0.95 * (len(times) - 1))]
            print(f"{frame_name:<14}{size_name:<16}{statistics.median(times):>10.2f}{p95:>10.2f}")


if __name__ == "__main__":
    main()
