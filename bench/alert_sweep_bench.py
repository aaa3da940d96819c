"""What the time-driven alert sweep costs, run before every read of a building's alerts.

Seeds the demo scenario into a SQLite file (or the PostgreSQL database `--database`), stores N
receipts per door through the receipts repository (every 50th missing, so gaps exist) and N grants
(a tenth with no receipt), then times `AlertBook.sweep` on a clock past every margin: the first
sweep raises the alerts, later ones find them already raised.

    python bench/alert_sweep_bench.py [--receipts 2000] [--runs 5] [--database postgresql://...]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from mock_building.scenario.loader import default_scenario_path, load_scenario
from mock_building.service.alerts import AlertBook
from mock_building.service.audit import AuditLog
from mock_building.service.seed import seed_database
from mock_building.service.storage import Database, grants, open_database, receipts

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


async def seeded(database: Database, per_door: int) -> int:
    """Receipts and grants for every demo door; how many of each."""
    scenario = load_scenario(default_scenario_path())
    await seed_database(database, scenario, date(2026, 11, 23), password_cost=2**10)
    rows = 0
    async with database.transaction() as tx:
        for door in scenario.doors:
            head = await receipts.lock_head(tx, door.id)
            for seq in range(per_door):
                at = (T0 + timedelta(seconds=seq)).isoformat()
                grant = os.urandom(16).hex()
                issued = grant if seq % 10 else os.urandom(16).hex()  # a tenth quoted by no receipt
                await grants.record_grant(
                    tx, grants.GrantRecord(issued, "demo", "parcelco", "k", "r", "s", door.id, "p", at, at)
                )
                rows += 1
                if seq % 50 == 25:
                    continue  # a gap
                stored = receipts.NewReceipt(
                    door.id, seq, os.urandom(32), os.urandom(32), grant if seq % 10 else None,
                    "unlocked", "ok", at, b"\x00", T0.isoformat(),
                )  # fmt: skip
                head = await receipts.add_receipt(tx, stored, head)
            await receipts.save_head(tx, door.id, head)
    return rows


async def run(database_url: str | None, per_door: int, runs: int) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        database = await open_database(database_url or Path(scratch) / "service.sqlite3")
        try:
            rows = await seeded(database, per_door)
            book = AlertBook(database, AuditLog(database, b"k" * 32), gap_after_s=900, grant_margin_s=900)
            now = T0 + timedelta(days=1)
            times = []
            for _ in range(runs):
                started = time.perf_counter()
                await book.sweep(now)
                times.append((time.perf_counter() - started) * 1000)
                now += timedelta(seconds=1)
            alerts = Counter(alert.kind for alert in await book.open_alerts(limit=10**6))
        finally:
            await database.close()
    print(
        f"{rows} receipts and grants over the demo doors ({database.dialect}); alerts raised: "
        + ", ".join(f"{kind} {count}" for kind, count in sorted(alerts.items()))
    )
    print(
        f"first sweep {times[0]:.1f} ms (raises them); later sweeps median "
        f"{statistics.median(times[1:]) if len(times) > 1 else float('nan'):.1f} ms "
        f"(runs: {', '.join(f'{t:.1f}' for t in times)})"
    )
    print(f"load average: {os.getloadavg()[0]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--receipts", type=int, default=2000, help="receipts (and grants) per door")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--database", help="a postgresql:// URL of an empty database (default: SQLite)")
    args = parser.parse_args()
    asyncio.run(run(args.database, args.receipts, args.runs))


if __name__ == "__main__":
    main()
