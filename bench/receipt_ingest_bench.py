"""What one receipt upload costs as a door's history grows: 1k stored receipts against 100k.

Seeds the demo scenario into a SQLite file (or the empty PostgreSQL database `--database`), stores
the history of two doors through the receipts repository's own insert (1k for one, 100k for the
other; filler rows ending in a real signed receipt, so new receipts chain onto it), then times
`ReceiptIngest.upload` (verify, chain, store, audit, gaps: the service's whole ingest, without
HTTP) of the next receipt, one at a time and in batches of 20, and prints the medians and the ratio
of the two doors (the goal is at most 1.5x).

    python bench/receipt_ingest_bench.py [--small 1000] [--large 100000] [--runs 30]
        [--database postgresql://...]
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

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mock_building.scenario.loader import default_scenario_path, load_scenario
from mock_building.service.alerts import AlertBook
from mock_building.service.audit import AuditLog
from mock_building.service.receipts import ReceiptIngest
from mock_building.service.seed import seed_database
from mock_building.service.storage import Database, open_database, receipts
from protocol.reasons import Outcome, ReasonCode
from protocol.receipt import Receipt, receipt_digest, sign_receipt

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
BATCH = 20
_SEED_CHUNK = 5000


def _load() -> str:
    with open("/proc/loadavg") as loadavg:
        return loadavg.read().strip()


class DoorChain:
    """A door's receipts from `seq` on, signed with its key, each linked to the one before."""

    def __init__(self, door_id: str, key: Ed25519PrivateKey, seq: int, prev: bytes) -> None:
        self.door_id, self._key, self._seq, self._prev = door_id, key, seq, prev

    def next_blob(self) -> bytes:
        at = int(T0.timestamp()) + self._seq
        receipt = Receipt(
            self.door_id, self._seq, self._prev, None, Outcome.REFUSED, ReasonCode.MALFORMED, at
        )
        blob = sign_receipt(receipt, self._key)
        self._seq, self._prev = self._seq + 1, receipt_digest(blob)
        return blob

    def take(self, count: int) -> list[bytes]:
        return [self.next_blob() for _ in range(count)]


async def seed_history(database: Database, door_id: str, key: Ed25519PrivateKey, stored: int) -> DoorChain:
    """Receipts 0..stored-1 of the door (filler, then a real one on top); the chain that goes on from it."""
    last_filler = os.urandom(32)
    chain = DoorChain(door_id, key, stored - 1, last_filler)
    top = chain.next_blob()  # its bytes also give every filler row a real receipt's size
    when = T0.isoformat()

    def row(seq: int) -> receipts.NewReceipt:
        if seq == stored - 1:
            digest, prev, raw = receipt_digest(top), last_filler, top
        else:
            digest = last_filler if seq == stored - 2 else os.urandom(32)
            prev, raw = os.urandom(32), top
        return receipts.NewReceipt(door_id, seq, digest, prev, None, "refused", "malformed", when, raw, when)

    for start in range(0, stored, _SEED_CHUNK):
        async with database.transaction() as tx:
            head = await receipts.lock_head(tx, door_id)
            for seq in range(start, min(start + _SEED_CHUNK, stored)):
                head = await receipts.add_receipt(tx, row(seq), head)
            await receipts.save_head(tx, door_id, head)
    return chain


async def timed_upload(ingest: ReceiptIngest, chain: DoorChain, size: int) -> float:
    """Milliseconds to upload the door's next `size` receipts."""
    blobs = chain.take(size)
    started = time.perf_counter()
    report = await ingest.upload(blobs, T0 + timedelta(days=1))
    elapsed = (time.perf_counter() - started) * 1000
    if {r.status for r in report.results} != {"accepted"} or report.gaps:
        raise SystemExit(f"upload not accepted cleanly: {report}")
    return elapsed


async def run(database_url: str | None, sizes: tuple[int, int], runs: int) -> None:
    scenario = load_scenario(default_scenario_path())
    chains: dict[int, DoorChain] = {}
    times: dict[tuple[int, int], list[float]] = {
        (stored, size): [] for stored in sizes for size in (1, BATCH)
    }
    with tempfile.TemporaryDirectory() as scratch:
        database = await open_database(database_url or Path(scratch) / "service.sqlite3")
        try:
            await seed_database(database, scenario, date(2026, 11, 23), password_cost=2**10)
            audit = AuditLog(database, b"k" * 32)
            ingest = ReceiptIngest(
                database, audit, AlertBook(database, audit, gap_after_s=900, grant_margin_s=900)
            )
            for door, stored in zip(scenario.doors, sizes, strict=False):
                started = time.perf_counter()
                chains[stored] = await seed_history(database, door.id, door.private_key, stored)
                print(
                    f"seeded {stored:,} receipts of door {door.id} in {time.perf_counter() - started:.1f} s"
                )
            for size in (1, 1, BATCH):  # the first round warms up and is not counted
                await timed_upload(ingest, chains[sizes[0]], size)
            # The two doors take turns, so both see the same machine.
            for run_index in range(runs):
                for stored in sizes if run_index % 2 else sizes[::-1]:
                    times[stored, 1].append(await timed_upload(ingest, chains[stored], 1))
                    if run_index % 3 == 0:
                        times[stored, BATCH].append(await timed_upload(ingest, chains[stored], BATCH))
        finally:
            await database.close()
    median = {key: statistics.median(values) for key, values in times.items()}
    print(
        f"receipt ingest on {database.dialect}, medians of {runs} single uploads and {len(times[sizes[0], BATCH])} batches"
    )
    print(f"{'stored':>8}  {'1 receipt':>10}  {f'batch of {BATCH}':>12}")
    for stored in sizes:
        print(f"{stored:>8,}  {median[stored, 1]:>7.3f} ms  {median[stored, BATCH]:>9.3f} ms")
    small, large = sizes
    print(
        f"ratio {large:,} / {small:,} stored: one receipt {median[large, 1] / median[small, 1]:.2f}x, "
        f"batch {median[large, BATCH] / median[small, BATCH]:.2f}x (goal <= 1.5x)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=1000, help="stored receipts of the first door")
    parser.add_argument("--large", type=int, default=100_000, help="stored receipts of the second door")
    parser.add_argument(
        "--runs", type=int, default=30, help="single uploads per door (batches of 20: a third as many)"
    )
    parser.add_argument("--database", help="a postgresql:// URL of an empty database (default: SQLite)")
    args = parser.parse_args()
    before = _load()
    asyncio.run(run(args.database, (args.small, args.large), args.runs))
    print(f"/proc/loadavg before: {before}; after: {_load()}")


if __name__ == "__main__":
    main()
