"""What a route run prints and writes: one line per stop, a p50/p95 summary, optional JUnit XML."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from driver_app.core.display_text import printable

DELIVERED = "delivered"


@dataclass(frozen=True)
class Attempt:
    """One door tried at a stop: "delivered" or the reason code it ended with."""

    door_id: str
    outcome: str


@dataclass(frozen=True)
class Case:
    """One expectation (a package and the outcome the scenario expects for it), as judged."""

    package_id: str
    expected: str
    verdict: str  # "pass", "fail" or "skip"
    message: str


@dataclass(frozen=True)
class StopResult:
    """One stop's run: what happened at each door tried, against what each of its packages expects."""

    stop_id: str
    label: str
    expected: tuple[tuple[str, str], ...]  # (package id, "delivered" or a reason code), in route order
    attempts: tuple[Attempt, ...]
    seconds_to_open: float | None  # package scanned → door open
    elapsed: float  # the whole stop, scan to confirmation
    detail: str = ""
    skipped: str | None = None  # why the stop was not run at all (e.g. delivered before this run)

    @property
    def outcome(self) -> str:
        """How the stop ended: its last attempt's outcome."""
        return self.attempts[-1].outcome if self.attempts else "not_attempted"

    @property
    def got(self) -> str:
        return ", ".join(a.outcome for a in self.attempts) or self.outcome

    @property
    def cases(self) -> tuple[Case, ...]:
        """One verdict per package, so a stop expecting two outcomes needs to see both.

        An outcome nobody expected fails every case of the stop. A refusal that was never reached
        because another door of the stop opened first is skipped, with that reason.
        """
        wanted = {expected for _, expected in self.expected}
        seen = [a.outcome for a in self.attempts]
        surprise = [outcome for outcome in seen if outcome not in wanted]
        opened = next((a.door_id for a in self.attempts if a.outcome == DELIVERED), None)
        cases = []
        for package_id, expected in self.expected:
            if self.skipped is not None:
                verdict, message = "skip", self.skipped
            elif not surprise and expected in seen:
                verdict, message = "pass", f"got {expected}"
            elif not surprise and opened is not None:
                verdict, message = "skip", f"not reached: the stop was delivered through {opened} first"
            else:
                verdict, message = "fail", f"expected {expected}, got {self.got}"
            cases.append(Case(package_id, expected, verdict, message))
        return tuple(cases)

    @property
    def passed(self) -> bool:
        return all(case.verdict != "fail" for case in self.cases)

    @property
    def expected_text(self) -> str:
        return "|".join(sorted({expected for _, expected in self.expected}))


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
    """PASS / FAIL / SKIP, then expected vs got, the doors tried and the times."""
    if result.skipped is not None:
        return printable(f"SKIP {result.stop_id} {result.label}: {result.skipped}")
    verdict = "PASS" if result.passed else "FAIL"
    doors = ", ".join(f"{a.door_id or '-'} {a.outcome}" for a in result.attempts)
    text = (
        f"{verdict} {result.stop_id} {result.label}: expected {result.expected_text}, got {result.got}"
        f" [{doors}] scan→open {_ms(result.seconds_to_open)}, stop {_ms(result.elapsed)}"
    )
    unreached = [c for c in result.cases if c.verdict == "skip"]
    if unreached:
        text += "; " + "; ".join(f"{c.package_id} {c.expected} {c.message}" for c in unreached)
    if result.detail:
        text += f" — {result.detail}"
    return printable(text)


def summary_line(results: Sequence[StopResult]) -> str:
    times = [r.seconds_to_open for r in results if r.seconds_to_open is not None]
    cases = [case for r in results for case in r.cases]
    met = sum(case.verdict == "pass" for case in cases)
    skipped = sum(case.verdict == "skip" for case in cases)
    return (
        f"{met}/{len(cases)} expectations met, {skipped} skipped;"
        f" scan→open p50 {_ms(percentile(times, 0.5))},"
        f" p95 {_ms(percentile(times, 0.95))} over {len(times)} opened doors"
    )


def write_junit(
    results: Sequence[StopResult], path: Path, suite: str = "run-route", drivers: Sequence[str] | None = None
) -> None:
    """One test case per package expectation; skipped stops and unreached refusals are `<skipped>`.

    With `drivers` (one per result, a fleet run), each case's class names its driver too.
    """
    owners = [f"{suite}.{printable(d)}" for d in drivers] if drivers is not None else [suite] * len(results)
    cases = [
        (owner, result, case) for owner, result in zip(owners, results, strict=True) for case in result.cases
    ]
    root = ET.Element(
        "testsuite",
        name=suite,
        tests=str(len(cases)),
        failures=str(sum(case.verdict == "fail" for _, _, case in cases)),
        errors="0",
        skipped=str(sum(case.verdict == "skip" for _, _, case in cases)),
        time=f"{sum(r.elapsed for r in results):.3f}",
    )
    for owner, result, case in cases:
        element = ET.SubElement(
            root,
            "testcase",
            classname=f"{owner}.{printable(result.stop_id)}",
            name=printable(f"{case.package_id} expects {case.expected}"),
            time=f"{result.elapsed:.3f}",
        )
        if case.verdict == "fail":
            failure = ET.SubElement(element, "failure", message=printable(case.message))
            failure.text = printable(result.detail)
        elif case.verdict == "skip":
            ET.SubElement(element, "skipped", message=printable(case.message))
        out = ET.SubElement(element, "system-out")
        out.text = stop_line(result)
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
