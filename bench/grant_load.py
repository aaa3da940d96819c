"""Grant load: 200 concurrent drivers asking the access service for door grants over loopback.

The service runs in a subprocess (uvicorn, its own core) with a generated scenario: 200 drivers,
each with a 4-stop route over 20 buildings. Every driver signs in, registers a handheld key, then
requests grants for its stops in a loop until the time budget is spent. Prints grants per second
and p50/p99 latency. The rate limit is lifted for the bench; everything else is the real gate.

    python bench/grant_load.py [--drivers 200] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from protocol.api import b64url_encode  # noqa: E402
from protocol.keys import public_key_bytes  # noqa: E402

BUILDINGS, STOPS = 20, 4


def scenario_toml(drivers: int) -> str:
    lines = ["version = 1", 'seed = "bench"', "[[carriers]]", 'id = "benchco"', 'name = "BenchCo"']
    for b in range(BUILDINGS):
        lines += [
            "[[buildings]]",
            f'id = "b{b}"',
            f'name = "Building {b}"',
            f'address = "{b} Bench St"',
            'accepted_carriers = ["benchco"]',
            "[[doors]]",
            f'id = "D{b}"',
            f'building = "b{b}"',
            'name = "Lobby"',
        ]
    for d in range(drivers):
        lines += [
            "[[drivers]]",
            f'id = "d{d}"',
            f'name = "Driver {d}"',
            'password = "pw"',
            'carrier = "benchco"',
            "[[routes]]",
            f'driver = "d{d}"',
        ]
        for s in range(STOPS):
            lines += [
                "[[routes.stops]]",
                f'id = "s{s}"',
                f'building = "b{(d + s) % BUILDINGS}"',
                f'packages = [{{ id = "p{s}", barcode = "BC{d:04d}{s}" }}]',
            ]
    return "\n".join(lines) + "\n"


def serve(scenario_path: str, port: int) -> None:
    """Child process: the service on 127.0.0.1:port."""
    import uvicorn

    from mock_building.scenario.loader import load_scenario
    from mock_building.service import app_for_scenario
    from mock_building.service.clock import SystemClock

    app = asyncio.run(
        app_for_scenario(
            load_scenario(scenario_path), clock=SystemClock(), password_cost=2**10, grant_rate_limit=1_000_000
        )
    )
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_until_up(base_url: str, deadline: float) -> None:
    async with httpx.AsyncClient(base_url=base_url) as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get("/openapi.json")).status_code == 200:
                    return
            except httpx.TransportError:
                await asyncio.sleep(0.1)
    raise SystemExit("the service did not start in time")


@dataclass
class Load:
    """Shared by all driver tasks: a start line, a finish time and what was measured."""

    start: asyncio.Event = field(default_factory=asyncio.Event)
    ready: int = 0
    stop_at: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: list[int] = field(default_factory=list)


async def driver(base_url: str, index: int, load: Load) -> None:
    # One client (one keep-alive connection) per driver, like separate handhelds; a shared pool of
    # 200 connections makes httpx itself the bottleneck.
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        await _drive(client, index, load)


async def _drive(client: httpx.AsyncClient, index: int, load: Load) -> None:
    tokens = (await client.post("/v1/auth/sign-in", json={"driver_id": f"d{index}", "password": "pw"})).json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    key = b64url_encode(public_key_bytes(Ed25519PrivateKey.generate()))
    key_id = (await client.post("/v1/handheld-keys", json={"public_key": key}, headers=headers)).json()[
        "key_id"
    ]
    load.ready += 1
    await load.start.wait()
    n = 0
    while time.monotonic() < load.stop_at:
        s = n % STOPS
        body = {
            "stop_id": f"s{s}",
            "door_id": f"D{(index + s) % BUILDINGS}",
            "barcode": f"BC{index:04d}{s}",
            "handheld_key_id": key_id,
        }
        began = time.perf_counter()
        answer = await client.post("/v1/grants", json=body, headers=headers)
        load.latencies.append(time.perf_counter() - began)
        if answer.status_code != 201:
            load.errors.append(answer.status_code)
        n += 1


async def run(drivers: int, seconds: float, port: int) -> None:
    base_url = f"http://127.0.0.1:{port}"
    await wait_until_up(base_url, time.monotonic() + 20)
    load = Load()
    tasks = [asyncio.create_task(driver(base_url, i, load)) for i in range(drivers)]
    while load.ready < drivers:  # everybody signs in first, then all start at once
        done = [t for t in tasks if t.done()]
        if done:
            await done[0]  # a driver failed during sign-in: raise its error
        await asyncio.sleep(0.05)
    began = time.monotonic()
    load.stop_at = began + seconds
    load.start.set()
    await asyncio.gather(*tasks)
    elapsed = time.monotonic() - began
    ordered = sorted(load.latencies)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    granted = len(ordered) - len(load.errors)
    print(
        f"grant_load: {drivers} concurrent drivers for {elapsed:.1f} s: {len(ordered)} grant requests, "
        f"{len(load.errors)} not granted {sorted(set(load.errors)) if load.errors else ''}"
    )
    print(f"grants/s: {granted / elapsed:.0f}")
    print(f"latency p50: {statistics.median(ordered) * 1000:.1f} ms  p99: {p99 * 1000:.1f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drivers", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--serve", nargs=2, metavar=("SCENARIO", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        scenario = Path(tmp) / "bench.toml"
        scenario.write_text(scenario_toml(args.drivers))
        port = free_port()
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        }
        child = subprocess.Popen([sys.executable, __file__, "--serve", str(scenario), str(port)], env=env)
        try:
            asyncio.run(run(args.drivers, args.seconds, port))
        finally:
            child.terminate()
            child.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
