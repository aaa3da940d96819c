"""`driver-app scan FILE_OR_DIR... [--json]`: decode barcodes in image and video files."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TextIO

import cv2

from ..core.display_text import barcode_text
from .confirm import Confirmer
from .errors import ScanError
from .pipeline import PipelineConfig, ScanPipeline
from .results import ScanResult
from .sources import VIDEO_SUFFIXES, expand_paths, file_frames
from .zxing_decoder import load_zxing

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", type=Path, metavar="FILE_OR_DIR", help="image/video files or folders")
    parser.add_argument("--json", action="store_true", help="one JSON object per file, on its own line")
    defaults = PipelineConfig()
    parser.add_argument(
        "--work-budget", type=int, default=defaults.work_budget, help="pixels zbar may scan per image (deterministic)"
    )
    parser.add_argument("--budget-ms", type=float, default=defaults.budget_ms, help="time budget per video frame")
    parser.add_argument("--no-zxing", action="store_true", help="do not use the zxing-cpp extra even if installed")


def run(args: argparse.Namespace, *, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Exit 0 when every file could be read (with or without a barcode), 1 otherwise."""
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)  # our own messages say what failed
    second = None if args.no_zxing else load_zxing()
    pipeline = ScanPipeline(PipelineConfig(work_budget=args.work_budget, budget_ms=args.budget_ms), second=second)
    failed = 0
    for path in expand_paths(args.paths):
        start = time.perf_counter()
        try:
            results = _scan_file(pipeline, path)
        except ScanError as error:
            failed += 1
            print(f"driver-app scan: error [{error.reason}]: {error.detail}", file=err)
            continue
        ms = (time.perf_counter() - start) * 1000
        if args.json:
            print(json.dumps(_as_json(path, results, ms), ensure_ascii=False), file=out)
        else:
            _print_human(path, results, ms, out)
    return 1 if failed else 0


def _scan_file(pipeline: ScanPipeline, path: Path) -> list[ScanResult]:
    """Images: every read of the frame. Videos: scanned as live frames, reads confirmed by repeating."""
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        return [result for frame in file_frames(path) for result in pipeline.scan(frame)]
    confirmer = Confirmer()
    return [result for frame in file_frames(path) for result in confirmer.feed(pipeline.scan_live(frame))]


def _as_json(path: Path, results: list[ScanResult], ms: float) -> dict[str, object]:
    return {
        "file": str(path),
        "results": [
            {
                "format": r.symbology.value,
                # Exact text when it is UTF-8; otherwise the bytes with invalid ones as \xNN.
                "text": r.text if r.text is not None else barcode_text(r.raw),
                "ms": round(r.ms, 3),
            }
            for r in results
        ],
        "ms": round(ms, 3),
    }


def _print_human(path: Path, results: list[ScanResult], ms: float, out: TextIO) -> None:
    shown = barcode_text(str(path).encode("utf-8", "surrogateescape"))
    if not results:
        print(f"{shown}: no barcode ({ms:.1f} ms)", file=out)
    for r in results:
        print(f"{shown}: {r.symbology.value:<10} {barcode_text(r.raw)}  ({r.ms:.1f} ms)", file=out)
