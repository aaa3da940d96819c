"""`driver-app run-route`: walk today's route headless against a running mock building."""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from driver_app.settings import DEFAULT_ACCESS_URL, DEFAULT_RADIO, BleMode, Settings, load_settings

if TYPE_CHECKING:
    from driver_app.runner.route_runner import RunPlan

# Everything else is imported when the command runs, so `driver-app --help` stays quick.

EXIT_OK, EXIT_FAILED, EXIT_SETUP = 0, 1, 2
EXIT_CODES = (
    "exit codes: 0 every expectation checked was met (skipped ones aside) and the outbox is empty; "
    "1 an expectation failed, none could be checked, or items are left in the outbox; "
    "2 setup problem (configuration, labels, expectations, sign-in or route loading)"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EXIT_CODES
    parser.add_argument(
        "--labels",
        type=Path,
        help="folder of label images named <package_id>.png (mock-building labels --out DIR); "
        "default: fetch the ones a mock building serves on its mock-only "
        "GET /v1/dev/labels into a temporary folder",
    )
    parser.add_argument("--report", type=Path, help="write JUnit XML here")
    parser.add_argument("--driver", default="demo", help="driver id (default: demo)")
    parser.add_argument("--password", default="demo-password", help="driver password (default: demo's)")
    parser.add_argument("--access-url", default=DEFAULT_ACCESS_URL, help=f"default {DEFAULT_ACCESS_URL}")
    parser.add_argument(
        "--radio", default=DEFAULT_RADIO, help=f"sim radio HOST:PORT (default {DEFAULT_RADIO})"
    )
    parser.add_argument(
        "--ble-mode",
        choices=[m.value for m in BleMode],
        default=BleMode.SIM.value,
        help="sim (default): the mock building's radio; system: real doors",
    )
    parser.add_argument("--data-dir", type=Path, help="outbox location (default: a fresh temporary folder)")


def run(args: argparse.Namespace) -> int:
    from driver_app.runner.route_runner import RunPlan

    if args.labels is not None and not args.labels.is_dir():
        print(f"run-route: no label folder {args.labels}", file=sys.stderr)
        return EXIT_SETUP
    with tempfile.TemporaryDirectory(prefix="lobbykey-run-route-") as scratch:
        # Before anything is sent: a bad setting (e.g. an http:// URL off this machine) is one line,
        # exit 2, from main().
        settings = load_settings(
            access_url=args.access_url,
            ble_mode=args.ble_mode,
            radio_address=args.radio,
            data_dir=args.data_dir or Path(scratch),
        )
        if args.labels is None:
            _say(f"run-route: fetching labels from {args.access_url}…")
        labels = args.labels or _fetched_labels(
            args.access_url, Path(scratch) / "labels", args.driver, args.password
        )
        if labels is None:
            return EXIT_SETUP
        expectations = _fetched_expectations(args.access_url, args.driver)
        if expectations is None:
            return EXIT_SETUP
        plan = RunPlan(args.driver, args.password, labels, expectations)
        return asyncio.run(_run(settings, plan, args.report, temporary_outbox=args.data_dir is None))


def _fetched_labels(access_url: str, out_dir: Path, driver_id: str, password: str) -> Path | None:
    from driver_app.runner.dev_labels import LabelFetchError, fetch_labels

    try:
        fetch_labels(access_url, out_dir, driver_id, password)
    except LabelFetchError as err:
        print(f"run-route: no --labels, and {err.detail} (reason {err.reason})", file=sys.stderr)
        return None
    return out_dir


def _fetched_expectations(access_url: str, driver_id: str) -> Mapping[str, str] | None:
    """What a mock building expects each package to end as (packages it does not name: delivered)."""
    from driver_app.core.display_text import printable
    from driver_app.core.errors import WorkflowError
    from driver_app.runner.expectations import fetch_expectations

    try:
        return fetch_expectations(access_url, driver_id)
    except WorkflowError as err:
        print(f"run-route: {err.title}: {printable(str(err))} (reason {err.reason})", file=sys.stderr)
        return None


async def _run(settings: Settings, plan: RunPlan, report: Path | None, *, temporary_outbox: bool) -> int:
    from driver_app.adapters.clock import SystemClock
    from driver_app.adapters.credentials_memory import MemoryCredentialStore
    from driver_app.core.display_text import printable
    from driver_app.core.errors import WorkflowError
    from driver_app.factory import build_workflow
    from driver_app.runner.report import write_junit
    from driver_app.runner.route_runner import run_route

    clock = SystemClock()
    workflow = build_workflow(
        settings,
        credentials=MemoryCredentialStore("QA runner — credentials kept in memory only"),
        clock=clock,
    )
    try:
        results = await run_route(workflow, plan, clock=clock, emit=_say)
    except WorkflowError as err:
        print(f"run-route: {err.title}: {printable(str(err))} (reason {err.reason})", file=sys.stderr)
        return EXIT_SETUP
    finally:
        await workflow.aclose()
    if report is not None:
        write_junit(results, report)
    left = workflow.state.outbox_size
    if left:
        print(f"run-route: {left} item(s) could not be synced", file=sys.stderr)
        _hand_over(settings.data_dir, temporary=temporary_outbox)
    checked = any(case.verdict == "pass" for r in results for case in r.cases)
    return EXIT_OK if checked and all(r.passed for r in results) and not left else EXIT_FAILED


def _say(line: str) -> None:
    """Progress goes out line by line, also through a pipe (CI logs show it as it happens)."""
    print(line, flush=True)


def _hand_over(data_dir: Path, *, temporary: bool) -> None:
    """Say where the unsent items are; a temporary outbox is deleted on exit, so print them instead."""
    if not temporary:
        hint = f"driver-app outbox list --data-dir {data_dir}"
        print(f"run-route: see `{hint}` (retry, export)", file=sys.stderr)
        return
    import json

    from driver_app.adapters.outbox_sqlite import SqliteOutbox
    from driver_app.outbox_cli import item_record
    from driver_app.paths import outbox_file

    print(
        "run-route: the temporary outbox is deleted on exit; its items, as `driver-app outbox export`"
        " writes them:",
        file=sys.stderr,
    )
    outbox = SqliteOutbox(outbox_file(data_dir))
    try:
        for item in outbox.items():
            print(json.dumps(item_record(item), sort_keys=True), file=sys.stderr)
    finally:
        outbox.close()
