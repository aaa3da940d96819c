"""Cold start of the driver app to a route screen with stops, against a real mock building.

Starts `mock-building up --headless` once (free ports), then N times runs a fresh Python process
that imports the TUI, builds the app exactly like the CLI (create_app + build_workflow, memory
credential store, sim radio), runs it headless under `App.run_test()`, signs in through the
sign-in screen and stops the clock when the route screen shows the route's stops. The parent
stamps `time.perf_counter()` into the child's environment just before spawning it; on Linux
perf_counter is CLOCK_MONOTONIC, shared by all processes, so the figure includes interpreter
start-up. Prints every run's milestones, the median and the max, then the top import costs
(`python -X importtime`, cumulative) of the TUI.

    python bench/tui_cold_start.py [--runs 5]
"""

from __future__ import annotations

import time

_STARTED = time.perf_counter()  # before any other import: the child's own view of "process start"

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
_T0_ENV = "LOBBYKEY_BENCH_T0"
_TUI_MODULES = (
    "driver_app.tui, driver_app.factory, driver_app.adapters.access_http, driver_app.adapters.door_bleak"
)


async def _child(access_url: str, radio: str) -> dict[str, float]:
    """One cold start; returns milestones in seconds since the parent spawned this process."""
    t0 = float(os.environ[_T0_ENV])
    marks = {"interpreter": _STARTED - t0}
    from textual.widgets import Input

    from driver_app.adapters.clock import SystemClock
    from driver_app.adapters.credentials_memory import MemoryCredentialStore
    from driver_app.factory import build_workflow
    from driver_app.settings import BleMode, Settings
    from driver_app.tui import create_app
    from driver_app.tui.screens.route import RouteScreen
    from driver_app.tui.screens.sign_in import SignInScreen

    marks["imports"] = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as data_dir:
        settings = Settings(
            access_url=access_url, ble_mode=BleMode.SIM, radio_address=radio, data_dir=Path(data_dir)
        )
        clock = SystemClock()
        credentials = MemoryCredentialStore()
        app = create_app(
            lambda on_change: build_workflow(
                settings, credentials=credentials, on_change=on_change, clock=clock
            ),
            settings,
            clock=clock,
        )
        async with app.run_test(size=(80, 24)) as pilot:
            await _until(pilot, lambda: isinstance(app.screen, SignInScreen))
            marks["sign_in_screen"] = time.perf_counter() - t0
            app.screen.query_one("#driver-id", Input).value = "demo"
            app.screen.query_one("#password", Input).value = "demo-password"
            app.screen.query_one("#password").focus()
            await pilot.press("enter")
            await _until(
                pilot,
                lambda: (
                    isinstance(app.screen, RouteScreen)
                    and app.workflow.state.route is not None
                    and bool(app.workflow.state.route.stops)
                ),
            )
            marks["route_screen"] = time.perf_counter() - t0
    return marks


async def _until(pilot, shown, timeout: float = 30.0) -> None:
    """Let the app process events until `shown()` holds: the screen is rendered by then."""
    deadline = time.perf_counter() + timeout
    while not shown():
        if time.perf_counter() > deadline:
            raise SystemExit("timed out waiting for the screen")
        await pilot.pause()


def _spawn_child(url: str, radio: str) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(REPO), _T0_ENV: repr(time.perf_counter())}
    done = subprocess.run(
        [sys.executable, __file__, "--child", url, radio],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        raise SystemExit(f"cold-start child failed:\n{done.stdout}{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _top_imports(count: int = 12) -> list[tuple[float, str]]:
    """Cumulative import time (ms) per top-level package the TUI pulls in, heaviest first.

    A package's cost is that of its shallowest import line (nested lines are indented two spaces
    a level), so a library pulled in by our own modules is still counted once, under its name.
    """
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {_TUI_MODULES}"],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    shallowest: dict[str, tuple[int, float]] = {}
    for line in done.stderr.splitlines():
        parts = line.split("|")
        if len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        depth = len(parts[2]) - len(parts[2].lstrip())
        root = parts[2].strip().split(".")[0]
        ms = int(parts[1]) / 1000
        if root not in shallowest or depth < shallowest[root][0]:
            shallowest[root] = (depth, ms)
        elif depth == shallowest[root][0]:
            shallowest[root] = (depth, shallowest[root][1] + ms)
    return sorted(((ms, name) for name, (_, ms) in shallowest.items()), reverse=True)[:count]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--child", nargs=2, metavar=("URL", "RADIO"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(_child(*args.child))))
        return 0
    sys.path.insert(0, str(REPO))  # `tests` is a package of the repo, not an installed one
    from tests.building_process import building_up

    runs = []
    with tempfile.TemporaryDirectory() as tmp, building_up(Path(tmp) / "building") as building:
        for run in range(args.runs):
            marks = _spawn_child(building.url, building.radio)
            runs.append(marks)
            print(
                f"run {run + 1}: " + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in marks.items())
            )
    to_route = [m["route_screen"] for m in runs]
    print(
        f"cold start to route screen: median {statistics.median(to_route):.2f} s, "
        f"max {max(to_route):.2f} s over {args.runs} runs"
    )
    print("top imports (cumulative ms):")
    for ms, name in _top_imports():
        print(f"  {ms:8.1f}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
