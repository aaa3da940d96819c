"""What a hostile client gets from `mock-building up`: an oversized body, a password-guessing burst.

The building runs as a child process (as in production), so its memory is measured alone
(/proc/<pid>/status: VmRSS now, VmHWM the peak). Prints one line per figure.

    python bench/hostile_client_bench.py [--body-mib 64] [--guesses 300]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.building_process import up_command  # noqa: E402  (after the path fix above)


def _memory_kib(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0])
    return fields


def _chunks(total: int, size: int = 1 << 16) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        chunk = b" " * min(size, total - sent)
        sent += len(chunk)
        yield chunk


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--body-mib", type=int, default=64)
    parser.add_argument("--guesses", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lobbykey-hostile-") as scratch:
        ready = Path(scratch) / "ready.json"
        child = subprocess.Popen(
            up_command(Path(scratch) / "data", ready_file=ready),
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 120
            while not ready.exists():
                if time.monotonic() > deadline or child.poll() is not None:
                    raise SystemExit("the building did not come up")
                time.sleep(0.1)
            url = json.loads(ready.read_text())["url"]
            with httpx.Client(base_url=url, timeout=120) as http:
                before = _memory_kib(child.pid)
                size = args.body_mib << 20
                started = time.perf_counter()
                try:
                    answer = http.post(
                        "/v1/auth/sign-in",
                        content=_chunks(size),
                        headers={"Content-Type": "application/json", "Content-Length": str(size)},
                    )
                    status = str(answer.status_code)
                except httpx.HTTPError as err:  # the server may close the connection mid-upload
                    status = f"connection closed ({type(err).__name__})"
                took = time.perf_counter() - started
                after = _memory_kib(child.pid)
                print(
                    f"{args.body_mib} MiB sign-in body: {status} in {took:.3f} s; server RSS "
                    f"{before['VmRSS'] // 1024} -> {after['VmRSS'] // 1024} MiB, peak {after['VmHWM'] // 1024} MiB"
                )

                started = time.perf_counter()
                codes: Counter[str] = Counter()
                for _ in range(args.guesses):
                    answer = http.post("/v1/auth/sign-in", json={"driver_id": "demo", "password": "guess"})
                    codes[answer.json()["code"]] += 1
                took = time.perf_counter() - started
                locked = http.post(
                    "/v1/auth/sign-in", json={"driver_id": "demo", "password": "demo-password"}
                )
                print(
                    f"{args.guesses} wrong passwords in {took:.2f} s: {dict(codes)}; "
                    f"passwords actually checked: {codes['invalid_credentials']}"
                )
                print(
                    f"then the right password: {locked.status_code} {locked.json()['code']}: "
                    f"{locked.json().get('detail')} (Retry-After {locked.headers.get('Retry-After')})"
                )
        finally:
            child.send_signal(signal.SIGTERM)
            child.wait(60)
    print(f"load average: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
