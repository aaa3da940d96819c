"""What hostile phones cost an emulated door: honest unlock time, receipts, memory, ATT traffic.

Everything runs on the virtual radio with raw bumble centrals (`RawPhone`), one controller per
phone, so hostile links really are held at the same time as the honest driver's.

1. Honest-driver unlock time (connect, discovery, subscribe, challenge, request, result) while
   1, 5 and 20 hostile phones hold links: they connect, send nothing, and reconnect as soon as
   the door drops them.
2. Receipts written under a flood: phones write malformed unlock requests as fast as the door
   answers for `--flood-s` seconds; the count is scaled to a minute (the door's cap is 16
   refusal receipts + 1 counted receipt per 60 s window, whatever the flood).
3. The door's memory after 10,000 hostile requests: Python allocations attributed to the door
   (mock_building/door, protocol) before and after, plus the size of its state database.
4. ATT traffic of one honest unlock after set-up: app-initiated round trips and bytes.

    PYTHONPATH=. python bench/door_abuse_bench.py [--runs 5] [--flood-s 10] [--requests 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path

from bumble.att import ATT_Error
from bumble.core import BaseBumbleError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mock_building.door.link_guard import MAX_LINKS
from mock_building.door.runner import RunningDoor, start_door
from mock_building.door.store import DB_NAME, DoorStore
from mock_building.radio import VirtualRadio
from mock_building.radio.phone import RawPhone
from protocol import gatt
from protocol.reasons import ReasonCode
from tests.door_support import DOOR_ADDRESS, Issuer, door_config, fixed_key, unlock_request

HOSTILE_COUNTS = (1, 5, 20)
HONEST_SPACING_S = 1.0
READS_PER_WRITE = 10
_TRANSIENT = (ATT_Error, BaseBumbleError, TimeoutError, ConnectionError, RuntimeError, AssertionError)


@contextlib.asynccontextmanager
async def door_on_air(state_dir: Path) -> AsyncIterator[tuple[VirtualRadio, RunningDoor, Issuer]]:
    radio = VirtualRadio()
    logging.getLogger("bumble").setLevel(logging.CRITICAL)  # links cut mid-request are expected here
    issuer = Issuer()
    config = door_config(state_dir, issuer, hold_open_s=0.5)
    door = await start_door(config, radio.add_peripheral(config.name, config.address), air=radio)
    try:
        yield radio, door, issuer
    finally:
        await door.stop()
        await radio.close()


async def honest_unlock(radio: VirtualRadio, issuer: Issuer) -> float:
    handheld = fixed_key()
    grant = issuer.grant(handheld, now=int(time.time()))
    phone = RawPhone(radio, "honest")
    started = time.perf_counter()
    await phone.connect(DOOR_ADDRESS, timeout=30)
    await phone.discover()
    await phone.subscribe_results()
    result = await phone.unlock(lambda challenge: unlock_request(grant, handheld, challenge))
    elapsed = time.perf_counter() - started
    await phone.disconnect()
    assert result.reason is ReasonCode.OK, result.reason
    return elapsed


async def hold_links(radio: VirtualRadio, stop: asyncio.Event) -> None:
    """A silent phone that reconnects whenever the door drops it."""
    phone = RawPhone(radio, "hostile")
    while not stop.is_set():
        with contextlib.suppress(*_TRANSIENT):
            await phone.connect(DOOR_ADDRESS, timeout=2)
            stop_wait = asyncio.ensure_future(stop.wait())
            dropped = asyncio.ensure_future(phone.disconnected.wait())
            await asyncio.wait([stop_wait, dropped], return_when=asyncio.FIRST_COMPLETED)
            stop_wait.cancel()
            dropped.cancel()
    with contextlib.suppress(*_TRANSIENT):
        await phone.disconnect()


async def links_held(door: RunningDoor, count: int, timeout: float = 10.0) -> int:
    """Wait (on the door's state events) until `count` links are open; returns how many are."""
    enough = asyncio.Event()
    unsubscribe = door.controller.subscribe(lambda state: enough.set() if state.connected >= count else None)
    try:
        async with asyncio.timeout(timeout):
            while door.controller.state.connected < count:
                await enough.wait()
                enough.clear()
    except TimeoutError:
        pass
    finally:
        unsubscribe()
    return door.controller.state.connected


async def unlock_under_hostile_links(runs: int) -> None:
    print("1. honest unlock (connect -> result) while hostile phones hold links")
    for hostile in HOSTILE_COUNTS:
        with tempfile.TemporaryDirectory() as tmp:
            async with door_on_air(Path(tmp)) as (radio, door, issuer):
                stop = asyncio.Event()
                holders = [asyncio.create_task(hold_links(radio, stop)) for _ in range(hostile)]
                held = await links_held(door, min(hostile, MAX_LINKS - 1))
                times = []
                for _ in range(runs):  # spread over the 3 s idle timeout and beyond
                    times.append(await honest_unlock(radio, issuer))
                    await asyncio.sleep(HONEST_SPACING_S)
                state = door.controller.state
                stop.set()
                await asyncio.gather(*holders)
        print(
            f"   {hostile:>2} hostile: median {statistics.median(times) * 1000:7.1f} ms, "
            f"max {max(times) * 1000:7.1f} ms over {runs} unlocks; hostile links held at the start {held}, "
            f"links the door dropped {state.links_dropped}"
        )


async def survived(operation: Awaitable[object]) -> bool:
    """Run one phone operation; False if the link went (bumble cancels a request whose link the
    door cut, so a CancelledError that is not our task's own cancellation means just that)."""
    try:
        async with asyncio.timeout(2):
            await operation
    except ATT_Error:
        return True  # 0x81 rate limited, as expected
    except (asyncio.CancelledError, *_TRANSIENT):
        if (task := asyncio.current_task()) is not None and task.cancelling():
            raise
        return False
    return True


class RequestCount:
    """Hostile requests sent so far; `reached` is set once `target` of them went out."""

    def __init__(self, target: int | None = None) -> None:
        self.value = 0
        self.reached = asyncio.Event()
        self._target = target

    def add(self) -> None:
        self.value += 1
        if self._target is not None and self.value >= self._target:
            self.reached.set()


async def flood(
    radio: VirtualRadio,
    stop: asyncio.Event,
    counter: RequestCount,
    *,
    addresses: int = 8,
    reads: bool = False,
) -> None:
    """Hostile requests as fast as the door answers, from `addresses` phones in turn (an
    attacker rotates addresses to dodge the per-peer backoff). Writes are malformed unlock
    requests; with `reads`, each write follows READS_PER_WRITE Challenge and Door Info reads."""
    phones = [RawPhone(radio, "flooder") for _ in range(addresses)]
    for turn in itertools.count():
        if stop.is_set():
            break
        phone = phones[turn % addresses]
        if await survived(phone.connect(DOOR_ADDRESS, timeout=2)) and await survived(phone.discover()):
            while not stop.is_set() and not phone.disconnected.is_set():
                for _ in range(READS_PER_WRITE if reads else 0):
                    for uuid in (gatt.CHALLENGE_CHAR_UUID, gatt.DOOR_INFO_CHAR_UUID):
                        counter.add()
                        await survived(phone.read(uuid))
                counter.add()
                if not await survived(phone.write(gatt.UNLOCK_CHAR_UUID, b"\xa0")):
                    break
        await survived(phone.disconnect())


async def receipts_under_flood(flood_s: float, phones: int = 4) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with door_on_air(Path(tmp)) as (radio, door, _issuer):
            stop, counter = asyncio.Event(), RequestCount()
            tasks = [asyncio.create_task(flood(radio, stop, counter)) for _ in range(phones)]
            await asyncio.sleep(flood_s)
            stop.set()
            await asyncio.gather(*tasks)
            written = 0 if door.controller.state.last_seq is None else door.controller.state.last_seq + 1
            rate_limited = door.controller.state.rate_limited
        total = len(DoorStore(Path(tmp)).receipts(0, 10_000))  # + the counted receipt written at close
    print(
        f"2. flood: {counter.value} bad requests from {phones} x 8 addresses in {flood_s:.0f} s "
        f"({counter.value / flood_s:.0f}/s); {rate_limited} answered rate_limited"
    )
    per_minute = f"{written * 60 / flood_s:.1f}/min" if flood_s >= 60 else "run --flood-s 60 for a minute"
    print(
        f"   receipts written during the flood: {written} ({per_minute}; the door's cap is 16 refusal "
        f"receipts + 1 counted receipt per 60 s window); after close, incl. the counted receipt: {total}"
    )


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _db_bytes(state_dir: Path) -> int:
    """The door's state database with its WAL and shared-memory files."""
    return sum(p.stat().st_size for p in state_dir.glob(DB_NAME + "*"))


def _loadavg() -> str:
    return Path("/proc/loadavg").read_text().strip()


def _door_tables(door: RunningDoor) -> str:
    """What the door keeps per peer or link: each is bounded (8 links, 256 backed-off peers)."""
    peripheral = door.peripheral
    links, peers = len(peripheral._links), len(peripheral._backoff._peers)  # a bench looks inside
    return f"links {links}, sessions {door.controller.state.connected}, backed-off peers {peers}"


async def memory_after_requests(requests: int, phones: int = 4) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with door_on_air(Path(tmp)) as (radio, door, _issuer):
            before = _rss_kib()
            stop, counter = asyncio.Event(), RequestCount(requests)
            tasks = [asyncio.create_task(flood(radio, stop, counter, reads=True)) for _ in range(phones)]
            started = time.perf_counter()
            await counter.reached.wait()
            stop.set()
            await asyncio.gather(*tasks)
            elapsed = time.perf_counter() - started
            after, tables = _rss_kib(), _door_tables(door)
            db = _db_bytes(Path(tmp))
    print(
        f"3. memory after {counter.value} hostile requests ({elapsed:.0f} s; Challenge/Door Info reads and "
        f"malformed writes from {phones} x 8 addresses): process RSS {before} -> {after} KiB "
        f"(phones and door share the process); door tables {tables}; state database {db / 1024:.0f} KiB"
    )


async def unlock_traffic() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with door_on_air(Path(tmp)) as (radio, _door, issuer):
            handheld = fixed_key()
            grant = issuer.grant(handheld, now=int(time.time()))
            phone = RawPhone(radio, "counted")
            await phone.connect(DOOR_ADDRESS)
            await phone.discover()
            await phone.subscribe_results()
            assert phone.peer is not None
            client = phone.peer.gatt_client
            sent: list[int] = []
            original = client.send_gatt_pdu

            def counted(pdu: bytes) -> None:
                sent.append(len(pdu))
                original(pdu)

            client.send_gatt_pdu = counted  # type: ignore[method-assign]  # a counting tap on the client
            result = await phone.unlock(lambda challenge: unlock_request(grant, handheld, challenge))
            await phone.disconnect()
    assert result.reason is ReasonCode.OK
    print(
        f"4. honest unlock after set-up: {len(sent)} app-initiated ATT PDUs ({sum(sent)} bytes sent), "
        f"result {len(bytes(result))} bytes by indication (with pending maintenance: "
        f"bench/door_upkeep_bench.py)"
    )


async def main(runs: int, flood_s: float, requests: int) -> None:
    print(f"load average before: {_loadavg()}")
    await unlock_under_hostile_links(runs)
    await receipts_under_flood(flood_s)
    await memory_after_requests(requests)
    await unlock_traffic()
    print(f"load average after: {_loadavg()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--flood-s", type=float, default=10.0)
    parser.add_argument("--requests", type=int, default=10_000)
    args = parser.parse_args()
    asyncio.run(main(args.runs, args.flood_s, args.requests))
