"""What the time-driven alert sweep costs, run before every read of a building's alerts.

Seeds the demo scenario into a SQLite file, adds N stored receipts per door (every 50th missing,
so gaps exist) and N grants (a tenth with no receipt), then times `AlertBook.sweep` on a clock
past every margin: the first sweep raises the alerts, later ones find them already raised.

    python bench/alert_sweep_bench.py [--receipts 2000] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from mock_building.scenario.loader import default_scenario_path, load_scenario
from mock_building.service.alerts import AlertBook
from mock_building.service.audit import AuditLog
from mock_building.service.db import Store
from mock_building.service.seed import seed_database
from mock_building.service.storage import open_database

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def seeded(path: Path, per_door: int) -> tuple[Store, AlertBook, int]:
    scenario = load_scenario(default_scenario_path())
    database = asyncio.run(open_database(path))
    asyncio.run(seed_database(database, scenario, date(2026, 11, 23), password_cost=2**10))
    store = Store(database.conn)  # type: ignore[attr-defined]  # transitional: SQLite only until alerts move
    doors = [door.id for door in scenario.doors]
    book = AlertBook(store, AuditLog(store, b"k" * 32), gap_after_s=900, grant_margin_s=900)
    rows = 0
    with store.transaction() as db:
        for door in doors:
            for seq in range(per_door):
                if seq % 50 == 25:
                    continue  # a gap
                at = (T0 + timedelta(seconds=seq)).isoformat()
                grant = os.urandom(16).hex()
                db.execute(
                    "INSERT INTO receipts (door_id, seq, digest, prev_digest, grant_id, outcome, reason,"
                    " door_time,"
                    " raw, received_at) VALUES (?, ?, ?, ?, ?, 'unlocked', 'ok', ?, x'00', ?)",
                    (door, seq, os.urandom(32), os.urandom(32), grant if seq % 10 else None, at, at),
                )
                db.execute(
                    "INSERT INTO grants (id, driver_id, carrier_id, handheld_key_id, route_id, stop_id,"
                    " door_id, package_id, issued_at, expires_at)"
                    " VALUES (?, 'demo', 'parcelco', 'k', 'r', 's', ?, 'p', ?, ?)",
                    (grant if seq % 10 else os.urandom(16).hex(), door, at, at),
                )
                rows += 1
            # what every upload does: the door's current gaps, with when they opened
            book.note_gaps(door, [(seq, seq) for seq in range(25, per_door, 50)], T0)
    return store, book, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--receipts", type=int, default=2000, help="receipts (and grants) per door")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        store, book, rows = seeded(Path(scratch) / "service.sqlite3", args.receipts)
        now = T0 + timedelta(days=1)
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            book.sweep(now)
            times.append((time.perf_counter() - started) * 1000)
            now += timedelta(seconds=1)
        alerts = store.conn.execute(
            "SELECT kind, COUNT(*) FROM alerts GROUP BY kind ORDER BY kind"
        ).fetchall()
        store.conn.close()
    print(
        f"{rows} receipts and grants over the demo doors; alerts raised: "
        + ", ".join(f"{kind} {count}" for kind, count in alerts)
    )
    print(
        f"first sweep {times[0]:.1f} ms (raises them); later sweeps median "
        f"{statistics.median(times[1:]) if len(times) > 1 else float('nan'):.1f} ms "
        f"(runs: {', '.join(f'{t:.1f}' for t in times)})"
    )
    print(f"load average: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
