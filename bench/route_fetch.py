"""Sequential requests: wrk at one connection GETs /v1/routes/today from `mock-building serve`.

The issue's "no stall" figure: a driver's requests one after another, each waiting for the last,
on loopback (SQLite and PostgreSQL, one worker each). A route is read in the same few statements
however long it is, so `--stops` barely moves the figure; it used to take two statements per stop.

    python bench/route_fetch.py [--stops 4] [--seconds 5] [--configs sqlite-1,pg-1]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from grant_load import config_names, load1, postgres_for, scenario_toml, served, signed_in_grants

_LUA = """\
wrk.headers["Authorization"] = "Bearer %s"
function done(summary, latency, requests)
  io.write(string.format("%%.2f %%.2f %%d\\n", latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests / (summary.duration / 1e6)))
end
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--stops", type=int, default=4, help="stops on the route (default %(default)s)")
    parser.add_argument("--seconds", type=float, default=5.0, help="per configuration (default %(default)s)")
    parser.add_argument("--configs", type=config_names, default=["sqlite-1", "pg-1"])
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("route_fetch: wrk is not installed (`make wrk`, or apt-get install wrk)")
    print(f"route_fetch: GET /v1/routes/today, 1 connection, a route of {args.stops} stops; load1 {load1()}")
    print(f"{'config':<9}{'p50 ms':>8}{'p99 ms':>8}{'req/s':>8}")
    with tempfile.TemporaryDirectory(prefix="route-fetch-") as tmp_name:
        tmp = Path(tmp_name)
        scenario = tmp / "bench.toml"
        scenario.write_text(scenario_toml(1, args.stops), encoding="utf-8")
        with postgres_for(args.configs) as postgres:
            for config in args.configs:
                with served(config, scenario, tmp, postgres) as service:
                    script = tmp / "route.lua"
                    script.write_text(_LUA % signed_in_grants(service.url, 1)[0].token, encoding="utf-8")
                    wrk = subprocess.run(
                        ["wrk", "-t1", "-c1", f"-d{args.seconds:g}s", "-s", str(script), f"{service.url}/v1/routes/today"],
                        capture_output=True, text=True, check=True,
                    )  # fmt: skip
                    p50, p99, rate = wrk.stdout.strip().splitlines()[-1].split()
                    print(f"{config:<9}{float(p50):>8.2f}{float(p99):>8.2f}{int(rate):>8}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
