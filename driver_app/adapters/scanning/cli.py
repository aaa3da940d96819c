"""`driver-app scan FILE_OR_DIR... [--json] [--no-recursive] [--no-zxing]`: decode images and videos."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import cv2

from driver_app.core.display_text import barcode_text

from .confirm import Confirmer
from .errors import ScanError, SourceError
from .pipeline import PipelineConfig, ScanPipeline, build_pipeline
from .results import ScanResult
from .sources import VIDEO_SUFFIXES, expand_paths, file_frames

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths", nargs="+", type=Path, metavar="FILE_OR_DIR", help="image/video files or folders"
    )
    parser.add_argument(
        "--json", action="store_true", help="one JSON object per file on its own line, failures included"
    )
    parser.add_argument(
        "--no-recursive",
        dest="recursive",
        action="store_false",
        help="scan only the files directly in a folder",
    )
    defaults = PipelineConfig()
    parser.add_argument(
        "--work-budget",
        type=int,
        default=defaults.work_budget,
        help="pixels zbar may scan per image (deterministic)",
    )
    parser.add_argument(
        "--budget-ms", type=float, default=defaults.budget_ms, help="time budget per video frame"
    )
    parser.add_argument(
        "--no-zxing", action="store_true", help="zbar alone, even when the zxing-cpp extra is installed"
    )


def run(args: argparse.Namespace, *, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Exit 0 when every file could be read (with or without a barcode), 1 otherwise."""
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)  # our own messages say what failed
    config = PipelineConfig(work_budget=args.work_budget, budget_ms=args.budget_ms)
    pipeline = build_pipeline(config, zxing=not args.no_zxing)
    failed = 0
    for path in _inputs(args.paths, recursive=args.recursive):
        start = time.perf_counter()
        try:
            results = _scan_file(pipeline, path)
        except ScanError as error:
            failed += 1
            if args.json:
                failure = {"file": str(path), "error": {"code": error.reason, "message": error.detail}}
                print(json.dumps(failure, ensure_ascii=False), file=out)
            else:
                print(f"driver-app scan: error [{error.reason}]: {error.detail}", file=err)
            continue
        ms = (time.perf_counter() - start) * 1000
        if args.json:
            print(json.dumps(_as_json(path, results, ms), ensure_ascii=False), file=out)
        else:
            _print_human(path, results, ms, out)
    return 1 if failed else 0


def _inputs(paths: list[Path], *, recursive: bool) -> Iterator[Path]:
    """Every file to scan; a folder with none in it is reported as a failure, not skipped in silence."""
    for path in paths:
        files = expand_paths([path], recursive=recursive)
        if path.is_dir() and not files:
            yield path  # _scan_file raises the error that names it
        yield from files


def _scan_file(pipeline: ScanPipeline, path: Path) -> list[ScanResult]:
    """Images: every symbol of the frame. Videos: scanned as live frames; a label is reported once
    confirmed (two agreeing symbols, or a repeated read), with the other symbols seen with it."""
    if path.is_dir():
        raise SourceError("no_images_in_folder", f"{path}: no image or video files in this folder")
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
