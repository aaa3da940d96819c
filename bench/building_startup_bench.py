"""How long `mock-building up` takes to bring up the demo building (target: under 3 s).

Starts `python -m mock_building.cli up --headless --fresh` on free ports N times, measures from
process start to the "ready" line (the ready file is written just before it), then SIGTERM and
the time to a clean exit. Prints the median and every run. Each run uses a fresh data dir, so
the cost of seeding the database (password hashing) is included.

    python bench/building_startup_bench.py [--runs 5]
"""

from __future__ import annotations

import argparse
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.building_process import CHILD_ENV, up_command  # noqa: E402  (after the path fix above)


def one_run(data_dir: Path) -> tuple[float, float]:
    started = time.perf_counter()
    process = subprocess.Popen(
        up_command(data_dir, fresh=True),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=CHILD_ENV,
    )
    assert process.stdout is not None
    try:
        for line in process.stdout:
            if line.strip() == "ready":
                break
        else:
            errors = process.stderr.read() if process.stderr else ""
            raise SystemExit(f"the building exited before it was ready:\n{errors}")
        ready = time.perf_counter() - started
        stopping = time.perf_counter()
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
        stopped = time.perf_counter() - stopping
        if process.returncode != 0:
            raise SystemExit(f"unclean exit {process.returncode}")
        return ready, stopped
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    ready_times, stop_times = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            ready, stopped = one_run(Path(tmp) / f"run{run}")
            ready_times.append(ready)
            stop_times.append(stopped)
            print(f"run {run + 1}: ready in {ready:.2f} s, stopped in {stopped:.2f} s")
    median = statistics.median(ready_times)
    print(f"median start-up to ready: {median:.2f} s over {args.runs} runs (target < 3 s)")
    print(f"median SIGTERM to clean exit: {statistics.median(stop_times):.2f} s")
    return 0 if median < 3.0 else 1


if __name__ == "__main__":
    sys.exit(main())
