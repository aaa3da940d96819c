"""Grant load: wrk drives `mock-building serve` over loopback, from processes of its own.

For each configuration (SQLite with 1 worker, PostgreSQL with 1 and 2 workers) the service runs as
`mock-building serve` with a generated scenario (200 drivers, 4 stops each over 20 buildings) and the
grant rate limit lifted. Python signs every driver in and registers a handheld key over HTTP first;
then wrk (a C load generator, `make bench` installs it) POSTs /v1/grants round-robin over the drivers
from a generated Lua script, at each concurrency in turn, each request with an Idempotency-Key of its
own as the driver app sends them (`--without-idempotency-keys` leaves the header out).

Per cell it prints grants/s, p50/p99 (wrk's own histogram, from Lua `done()`), the CPU the service's
processes (and PostgreSQL's) spent per request (utime+stime from /proc before and after, divided by
completed requests), non-2xx answers and socket errors (both must be 0), the 1-minute load average,
how much of the machine's CPU stayed idle, how busy each worker was (100% is one core: a worker at
100% can do no more, and on a machine at 0% idle neither can another worker), and how many of wrk's
connections each worker held half-way through the cell ("10+0" would mean one worker idle).
PostgreSQL is a private instance (tests/postgres_server.py), one fresh database per configuration.

    python bench/grant_load.py [--seconds 5] [--concurrency 1,10,50,200] [--configs sqlite-1,pg-1,pg-2]
                               [--without-idempotency-keys]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from protocol.api import b64url_encode  # noqa: E402  (after the path fix above)
from protocol.keys import public_key_bytes  # noqa: E402
from tests.building_process import ServiceProcess, service_serving  # noqa: E402
from tests.postgres_server import PostgresServer, start_postgres  # noqa: E402
from tests.processes import children_of  # noqa: E402

BUILDINGS, STOPS = 20, 4
CONFIGS = {"sqlite-1": ("sqlite", 1), "pg-1": ("postgresql", 1), "pg-2": ("postgresql", 2)}
_TICK_US = 1_000_000 / os.sysconf("SC_CLK_TCK")


def scenario_toml(drivers: int, stops: int = STOPS) -> str:
    """`drivers` drivers, each with a route of `stops` stops (one parcel each) over the buildings."""
    lines = ["version = 1", 'seed = "bench"', "[service]", "password_cost = 1024"]
    lines += ["[[carriers]]", 'id = "benchco"', 'name = "BenchCo"']
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
        for s in range(stops):
            lines += [
                "[[routes.stops]]",
                f'id = "s{s}"',
                f'building = "b{(d + s) % BUILDINGS}"',
                f'packages = [{{ id = "p{s}", barcode = "BC{d:04d}{s}" }}]',
            ]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Grant:
    """One grant request a driver may repeat: its bearer token and the request body."""

    token: str
    body: str


def signed_in_grants(url: str, drivers: int) -> list[Grant]:
    """Sign every driver in and register a handheld key; their grant requests, round-robin over drivers."""
    per_driver = []
    with httpx.Client(base_url=url, timeout=60) as client:
        for d in range(drivers):
            signed = client.post("/v1/auth/sign-in", json={"driver_id": f"d{d}", "password": "pw"})
            signed.raise_for_status()
            token = signed.json()["access_token"]
            key = b64url_encode(public_key_bytes(Ed25519PrivateKey.generate()))
            registered = client.post(
                "/v1/handheld-keys", json={"public_key": key}, headers={"Authorization": f"Bearer {token}"}
            )
            registered.raise_for_status()
            key_id = registered.json()["key_id"]
            per_driver.append(
                [
                    Grant(
                        token,
                        json.dumps(
                            {
                                "stop_id": f"s{s}",
                                "door_id": f"D{(d + s) % BUILDINGS}",
                                "barcode": f"BC{d:04d}{s}",
                                "handheld_key_id": key_id,
                            },
                            separators=(",", ":"),
                        ),
                    )
                    for s in range(STOPS)
                ]
            )
    return [grants[s] for s in range(STOPS) for grants in per_driver]  # driver after driver, stop by stop


def _lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string of ASCII text is a valid Lua string literal


def wrk_script(grants: list[Grant], *, keyed: bool) -> str:
    """Each wrk thread walks the same round-robin list from its own offset; `done` prints one JSON line.

    `keyed`: every request carries an Idempotency-Key of its own, as the driver app sends one with
    every scan attempt; it begins with wrk's first script argument, so no run reuses another's keys.
    """
    entries = ",\n".join(f"  {{{_lua_string(g.token)}, {_lua_string(g.body)}}}" for g in grants)
    if keyed:
        per_mode = """\
local prefix = ""
local sent = 0

function init(args)
  next_index = (offset or 0) % #grants
  prefix = (args[1] or "") .. "-" .. (offset or 0) .. "-"
end

function request()
  next_index = next_index % #grants + 1
  sent = sent + 1
  local grant = grants[next_index]
  return wrk.format("POST", "/v1/grants", {["Authorization"] = "Bearer " .. grant[1],
    ["Content-Type"] = "application/json", ["Idempotency-Key"] = prefix .. sent}, grant[2])
end"""
    else:
        per_mode = """\
local requests = {}

function init(args)
  for i, grant in ipairs(grants) do
    requests[i] = wrk.format("POST", "/v1/grants",
      {["Authorization"] = "Bearer " .. grant[1], ["Content-Type"] = "application/json"}, grant[2])
  end
  next_index = (offset or 0) % #grants
end

function request()
  next_index = next_index % #grants + 1
  return requests[next_index]
end"""
    return f"""\
local grants = {{
{entries}
}}
local next_index = 0
local threads = 0

function setup(thread)
  thread:set("offset", threads * 7919)
  threads = threads + 1
end

{per_mode}

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {{"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"non2xx":%d,' ..
    '"connect":%d,"read":%d,"write":%d,"timeout":%d}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), e.status,
    e.connect, e.read, e.write, e.timeout))
end
"""


def cpu_ticks(roots: Iterable[int]) -> int:
    """utime+stime (and that of reaped children) of every process in the trees under `roots`."""
    total = 0
    pending = list(roots)
    while pending:
        pid = pending.pop()
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            pending.extend(children_of(pid))
        except FileNotFoundError:  # ended meanwhile: its time is in its parent's cutime/cstime
            continue
        total += sum(int(value) for value in fields[11:15])
    return total


def machine_ticks() -> tuple[int, int]:
    """(busy, all) CPU ticks of the whole machine since boot, from /proc/stat (idle and iowait are not busy)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(values) - values[3] - values[4], sum(values)


def connections_per_worker(port: int, workers: Sequence[int]) -> list[int]:
    """How many established connections to `port` each worker holds (/proc/net/tcp, then /proc/PID/fd)."""
    local_end = f":{port:04X}"
    established = {
        f"socket:[{fields[9]}]"
        for fields in (line.split() for line in Path("/proc/net/tcp").read_text().splitlines()[1:])
        if fields[1].endswith(local_end) and fields[3] == "01"
    }
    held = []
    for pid in workers:
        count = 0
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(FileNotFoundError):  # closed while we looked
                count += os.readlink(fd) in established
        held.append(count)
    return held


def run_wrk(
    url: str, script: Path, connections: int, seconds: float, threads: int, workers: Sequence[int] = ()
) -> tuple[dict[str, int], list[int]]:
    """wrk's summary, and the connections each of `workers` held half-way through the run."""
    command = [
        "wrk",
        f"-t{min(threads, connections)}",
        f"-c{connections}",
        f"-d{seconds:g}s",
        "--timeout",
        "10s",
    ]
    wrk = subprocess.Popen(
        [*command, "-s", str(script), url, "--", uuid.uuid4().hex],  # the run's own key prefix
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(seconds / 2)  # by now wrk holds all its connections
    held = connections_per_worker(urlsplit(url).port or 80, workers)
    stdout, stderr = wrk.communicate(timeout=seconds + 60)
    if wrk.returncode != 0:
        raise SystemExit(f"grant_load: {' '.join(command)} failed:\n{stdout}{stderr}")
    line = next(line for line in stdout.splitlines() if line.startswith("BENCH "))
    result: dict[str, int] = json.loads(line.removeprefix("BENCH "))
    return result, held


def load1() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


def config_names(text: str) -> list[str]:
    """`--configs`: comma-separated names of CONFIGS."""
    names = text.split(",")
    if unknown := set(names) - set(CONFIGS):
        raise argparse.ArgumentTypeError(f"unknown configuration(s): {', '.join(sorted(unknown))}")
    return names


@contextmanager
def postgres_for(configs: Iterable[str]) -> Iterator[PostgresServer | None]:
    """A private PostgreSQL for the block if any of `configs` runs on one (None if none does)."""
    if not any(CONFIGS[c][0] == "postgresql" for c in configs):
        yield None
        return
    postgres = start_postgres()
    try:
        yield postgres
    finally:
        postgres.stop()


@contextmanager
def served(
    config: str, scenario: Path, tmp: Path, postgres: PostgresServer | None
) -> Iterator[ServiceProcess]:
    """`mock-building serve` for one configuration, on a new SQLite file or a new PostgreSQL database."""
    backend, workers = CONFIGS[config]
    if backend == "sqlite":
        database = str(tmp / f"{config}.sqlite3")
    else:
        assert postgres is not None
        database = asyncio.run(postgres.create_database(config.replace("-", "_")))
    with service_serving(scenario, database, workers=workers, grant_rate_limit=10**9) as service:
        yield service


def bench_config(
    config: str, scenario: Path, tmp: Path, postgres: PostgresServer | None, args: argparse.Namespace
) -> dict[int, tuple[float, float]]:
    """One row per concurrency, printed as soon as it is measured; {concurrency: (grants/s, p99 ms)}."""
    measured = {}
    with served(config, scenario, tmp, postgres) as service:
        script = tmp / f"{config}.lua"
        script.write_text(
            wrk_script(signed_in_grants(service.url, args.drivers), keyed=args.idempotency_keys),
            encoding="utf-8",
        )
        run_wrk(service.url, script, 10, 1, args.threads)  # warm-up: pools, caches, JIT of the Lua side
        service_roots = [service.process.pid]
        for connections in args.concurrency:
            svc_before = cpu_ticks(service_roots)
            pg_before = cpu_ticks([postgres.process.pid]) if postgres else 0
            workers_before = [cpu_ticks([pid]) for pid in service.worker_pids]
            machine_before = machine_ticks()
            result, held = run_wrk(
                service.url, script, connections, args.seconds, args.threads, service.worker_pids
            )
            busy = [a - b for a, b in zip(machine_ticks(), machine_before, strict=True)]
            workers_busy = [
                (cpu_ticks([pid]) - before) * _TICK_US / result["duration_us"]
                for pid, before in zip(service.worker_pids, workers_before, strict=True)
            ]
            svc_used = (cpu_ticks(service_roots) - svc_before) * _TICK_US
            pg_used = (cpu_ticks([postgres.process.pid]) - pg_before) * _TICK_US if postgres else 0
            requests = max(result["requests"], 1)
            granted = result["requests"] - result["non2xx"]
            socket_errors = sum(result[kind] for kind in ("connect", "read", "write", "timeout"))
            pg_cell = f"{pg_used / requests:7.0f}" if CONFIGS[config][0] == "postgresql" else f"{'-':>7}"
            rate = granted / (result["duration_us"] / 1e6)
            measured[connections] = (rate, result["p99_us"] / 1000)
            print(
                f"{config:<9}{connections:>5}{rate:>10.0f}"
                f"{result['p50_us'] / 1000:>9.2f}{result['p99_us'] / 1000:>9.2f}"
                f"{svc_used / requests:>9.0f}{pg_cell}{result['non2xx']:>7}{socket_errors:>8}{load1():>7}"
                f"{100 * (1 - busy[0] / max(busy[1], 1)):>7.0f}"
                f"  {'+'.join(f'{share:.0%}' for share in workers_busy):<13}{'+'.join(map(str, held))}",
                flush=True,
            )
    return measured


def goals(results: dict[str, dict[int, tuple[float, float]]]) -> list[str]:
    """Issue 13's targets against what was measured at c=200."""
    lines = []
    for config, (_, workers) in CONFIGS.items():
        if workers == 1 and 200 in results.get(config, {}):
            rate, p99 = results[config][200]
            met = "met" if rate >= 2500 and p99 <= 100 else "missed"
            lines.append(
                f"goal {config} c=200 >= 2500 grants/s, p99 <= 100 ms: {rate:.0f}/s, {p99:.0f} ms ({met})"
            )
    if 200 in results.get("pg-1", {}) and 200 in results.get("pg-2", {}):
        gain = results["pg-2"][200][0] / max(results["pg-1"][200][0], 1e-9)
        lines.append(f"goal second PostgreSQL worker, c=200: {gain:.2f}x the grants/s of one")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--drivers", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=5.0, help="per cell (default %(default)s)")
    parser.add_argument(
        "--concurrency",
        type=lambda text: [int(c) for c in text.split(",")],
        default=[1, 10, 50, 200],
        help="wrk connections, comma-separated (default 1,10,50,200)",
    )
    parser.add_argument(
        "--configs",
        type=config_names,
        default=list(CONFIGS),
        help=f"comma-separated, of {', '.join(CONFIGS)} (default: all)",
    )
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default %(default)s)")
    parser.add_argument(
        "--without-idempotency-keys",
        dest="idempotency_keys",
        action="store_false",
        help="send no Idempotency-Key (the driver app sends one with every grant request)",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("grant_load: wrk is not installed (`make wrk`, or apt-get install wrk)")
    print(
        f"grant_load: {args.drivers} drivers, {args.seconds:g} s per cell, wrk -t{args.threads},"
        f" {'an Idempotency-Key per request' if args.idempotency_keys else 'no Idempotency-Key'}; loadavg "
        + Path("/proc/loadavg").read_text().strip()
    )
    print(
        f"{'config':<9}{'conc':>5}{'grants/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'svc µs':>9}{'pg µs':>7}"
        f"{'non2xx':>7}{'sockerr':>8}{'load1':>7}{'idle %':>7}  {'worker CPU':<13}conns per worker"
    )
    with tempfile.TemporaryDirectory(prefix="grant-load-") as tmp_name:
        tmp = Path(tmp_name)
        scenario = tmp / "bench.toml"
        scenario.write_text(scenario_toml(args.drivers), encoding="utf-8")
        failed = []
        results = {}
        with postgres_for(args.configs) as postgres:
            for config in args.configs:
                try:
                    results[config] = bench_config(config, scenario, tmp, postgres, args)
                except RuntimeError as err:  # the service did not come up: say why, go on with the next
                    failed.append(config)
                    print(f"{config:<9}did not start: {str(err).strip().splitlines()[-1]}", flush=True)
    for line in goals(results):
        print(line)
    print("loadavg after: " + Path("/proc/loadavg").read_text().strip())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
