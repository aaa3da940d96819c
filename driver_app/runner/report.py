"""What a route run prints and writes: one line per stop, a p50/p95 summary, optional JUnit XML."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from driver_app.core.display_text import printable


@dataclass(frozen=True)
class StopResult:
    """One stop's run: what happened against what the scenario expected."""

    stop_id: str
    label: str
    expected: str  # "delivered" or a reason code
    outcome: str  # "delivered" or the reason code the stop ended with
    seconds_to_open: float | None  # package scanned → door open
    elapsed: float  # the whole stop, scan to confirmation
    detail: str = ""

    @property
    def passed(self) -> bool:
        return self.outcome == self.expected


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Nearest-rank percentile: the smallest value with at least `fraction` of values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.0f} ms"


def stop_line(result: StopResult) -> str:
    verdict = "PASS" if result.passed else "FAIL"
    text = (
        f"{verdict} {result.stop_id} {result.label}: {result.outcome}"
        f" (expected {result.expected}) scan→open {_ms(result.seconds_to_open)},"
        f" stop {_ms(result.elapsed)}"
    )
    if result.detail:
        text += f" — {result.detail}"
    return printable(text)


def summary_line(results: Sequence[StopResult]) -> str:
    times = [r.seconds_to_open for r in results if r.seconds_to_open is not None]
    passed = sum(r.passed for r in results)
    return (
        f"{passed}/{len(results)} stops as expected; scan→open p50 {_ms(percentile(times, 0.5))},"
        f" p95 {_ms(percentile(times, 0.95))} over {len(times)} opened doors"
    )


def write_junit(results: Sequence[StopResult], path: Path, suite: str = "run-route") -> None:
    failures = sum(not r.passed for r in results)
    root = ET.Element(
        "testsuite",
        name=suite,
        tests=str(len(results)),
        failures=str(failures),
        errors="0",
        time=f"{sum(r.elapsed for r in results):.3f}",
    )
    for result in results:
        case = ET.SubElement(
            root, "testcase", classname=suite, name=result.stop_id, time=f"{result.elapsed:.3f}"
        )
        if not result.passed:
            failure = ET.SubElement(
                case, "failure", message=f"expected {result.expected}, got {result.outcome}"
            )
            failure.text = printable(result.detail)
        out = ET.SubElement(case, "system-out")
        out.text = stop_line(result)
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
