"""CPU of one grant's service work, part by part, without HTTP: authenticate, the gate, the seal, the upkeep.

`grant_load.py` measures whole requests from outside; this bench tells which part of the service's
own work (everything a grant request does besides the web framework) a change moved. Each part is
timed with `time.process_time` around the same calls the grant endpoint makes, on a SQLite file,
after a warm-up. With `--history N` the grant's door first stores N receipts (refusals, no
maintenance receipt), N revoked grants that expired long ago and N revoked handhelds the door was
already sent, so a part that reads the door's (or the service's) history shows up as growth with N.

    python bench/grant_core_bench.py [--grants 3000] [--history 0,20000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from grant_load import scenario_toml  # noqa: E402  (after the path fix above)

from mock_building.scenario.loader import parse_scenario  # noqa: E402
from mock_building.service import app_for_scenario  # noqa: E402
from mock_building.service.clock import SystemClock  # noqa: E402
from mock_building.service.storage import (  # noqa: E402
    Database,
    accounts,
    grants,
    receipts,
    revocations,
    upkeep,
)
from protocol.api import b64url_encode  # noqa: E402
from protocol.keys import public_key_bytes  # noqa: E402

DOOR, STOP, BARCODE = "D1", "s0", "BC00010"
PARTS = ("auth", "gate", "seal", "upkeep")
_WARM_UP = 300


async def _store_history(database: Database, count: int) -> None:
    """`count` receipts of the door, stored the way ingest stores them (filler bytes: never verified
    here), `count` grants for the door revoked before they expired, a year ago, and `count` revoked
    handhelds (of another driver) the door was sent."""
    async with database.transaction() as tx:
        head = await receipts.lock_head(tx, DOOR)
        for seq in range(count):
            receipt = receipts.NewReceipt(
                DOOR, seq, os.urandom(32), b"\0" * 32, None, "refused", "malformed", "t", b"r" * 150, "t"
            )
            head = await receipts.add_receipt(tx, receipt, head)
        await receipts.save_head(tx, DOOR, head)
        issued, expired = "2025-01-01T09:00:00+00:00", "2025-01-01T09:02:00+00:00"
        for _ in range(count):
            grant_id = os.urandom(16).hex()
            record = grants.GrantRecord(grant_id, "d1", "benchco", "k", "r", STOP, DOOR, "p", issued, expired)
            await grants.record_grant(tx, record)
            await revocations.revoke_grant(tx, grant_id, issued)
        handhelds = [f"old-{n}" for n in range(count)]
        for key_id in handhelds:
            await accounts.add_handheld(tx, key_id, "d2", os.urandom(32), issued)
            await revocations.revoke_handheld(tx, key_id, issued)
        await upkeep.mark_revocations_sent(tx, DOOR, "handheld", handhelds)


async def measure(grants: int, history: int) -> dict[str, float]:
    """Microseconds of CPU per grant for each part, with `history` receipts stored for the door."""
    with tempfile.TemporaryDirectory() as scratch:
        app = await app_for_scenario(
            parse_scenario(scenario_toml(20)),
            clock=SystemClock(),
            password_cost=2**10,
            grant_rate_limit=10**9,
            database=f"{scratch}/service.sqlite3",
        )
        service, desk = app.state.service, app.state.upkeep
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            signed_in = await client.post("/v1/auth/sign-in", json={"driver_id": "d1", "password": "pw"})
            token = signed_in.json()["access_token"]
            key = b64url_encode(public_key_bytes(Ed25519PrivateKey.generate()))
            registered = await client.post(
                "/v1/handheld-keys", json={"public_key": key}, headers={"Authorization": f"Bearer {token}"}
            )
            key_id = registered.json()["key_id"]
        await _store_history(service.database, history)
        spent = dict.fromkeys(PARTS, 0.0)

        async def grant(tally: bool) -> None:
            t0 = time.process_time()
            who = await service.sessions.authenticate(token, service.clock.now())
            t1 = time.process_time()
            issued, _ = await service.gate.request(
                who,
                stop_id=STOP,
                door_id=DOOR,
                barcode=BARCODE,
                handheld_key_id=key_id,
                now=service.clock.now(),
            )
            t2 = time.process_time()
            desk.seal_grant(issued.door_id, issued.token)
            t3 = time.process_time()
            await desk.pending(issued.door_id, service.clock.now())
            t4 = time.process_time()
            if tally:
                for part, took in zip(PARTS, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
                    spent[part] += took

        for _ in range(_WARM_UP):
            await grant(False)
        for _ in range(grants):
            await grant(True)
        await service.database.close()
    return {part: total / grants * 1e6 for part, total in spent.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grants", type=int, default=3000)
    parser.add_argument(
        "--history",
        default="0,20000",
        help="receipts, expired revoked grants and revoked handhelds stored, comma-separated",
    )
    args = parser.parse_args()
    print(f"us of CPU per grant, {args.grants} grants after {_WARM_UP} to warm up, SQLite file")
    print(f"{'history':>8} " + " ".join(f"{part:>7}" for part in PARTS) + f" {'total':>7}")
    for history in (int(n) for n in args.history.split(",")):
        parts = asyncio.run(measure(args.grants, history))
        cells = " ".join(f"{parts[part]:7.0f}" for part in PARTS)
        print(f"{history:>8} {cells} {sum(parts.values()):7.0f}")
    with open("/proc/loadavg") as loadavg:
        print(f"load average: {loadavg.read().strip()}")


if __name__ == "__main__":
    main()
