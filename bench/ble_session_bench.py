"""Time a driver's BLE session against an emulated door through bleak's API and the sim backend.

Per run: scan (until the door's advertisement arrives), connect (link + MTU 517 + service
discovery, as `BleakClient.connect` does), read 16 B, write 300 B with response, write -> notify
round trip (the shape of unlock request -> receipt), disconnect. Prints medians over N runs.

    python bench/ble_session_bench.py [--runs 20] [--interval-ms 30] [--cross-process]

With --cross-process the radio and the door run in a child process (as `mock-building up`
would) and this process attaches over TCP, as the driver app does; otherwise both share a loop.
Emulated GATT operations take ~1 ms, faster than real radios: connect latency follows the
door's advertising interval, which is the figure that transfers to hardware.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bleak import BleakClient, BleakScanner
from bleak.backends.characteristic import BleakGATTCharacteristic
from bumble.device import Connection, Device
from bumble.gatt import Characteristic, CharacteristicValue, Service

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from driver_app.adapters.ble_sim import (
    BumbleClientBackend,
    BumbleScannerBackend,
    configure_sim_radio,
    detach_sim_radio,
)
from mock_building.radio import VirtualRadio, build_advertising_data, start_advertising

SERVICE = "6e400001-b5a3-f393-e0a9-e50e24dcca9e"
READ_CHAR = "6e400002-b5a3-f393-e0a9-e50e24dcca9e"
WRITE_CHAR = "6e400003-b5a3-f393-e0a9-e50e24dcca9e"
NOTIFY_CHAR = "6e400004-b5a3-f393-e0a9-e50e24dcca9e"
DOOR = "F0:00:00:00:00:01"
STEPS = ("scan", "connect", "read_16B", "write_300B", "write_notify_rtt", "disconnect", "total")


async def start_door(interval_ms: float) -> tuple[VirtualRadio, int]:
    radio = VirtualRadio()
    device: Device = radio.add_peripheral("bench-door", DOOR)
    notify = Characteristic(NOTIFY_CHAR, Characteristic.Properties.NOTIFY, Characteristic.READABLE, b"")

    def on_write(connection: Connection, value: bytes) -> None:
        if value == b"ping":
            asyncio.get_running_loop().create_task(device.notify_subscribers(notify, b"pong"))

    device.add_service(
        Service(
            SERVICE,
            [
                Characteristic(READ_CHAR, Characteristic.Properties.READ, Characteristic.READABLE, bytes(16)),
                Characteristic(
                    WRITE_CHAR,
                    Characteristic.Properties.WRITE,
                    Characteristic.WRITEABLE,
                    CharacteristicValue(write=on_write),
                ),
                notify,
            ],
        )
    )
    await device.power_on()
    await start_advertising(device, build_advertising_data(service_uuids=[SERVICE]), interval_ms=interval_ms)
    return radio, await radio.serve(port=0)


async def one_session() -> dict[str, float]:
    times: dict[str, float] = {}
    start = mark = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        times[step] = (now - mark) * 1000
        mark = now

    device = await BleakScanner.find_device_by_filter(
        lambda d, adv: d.address == DOOR, timeout=10, service_uuids=[SERVICE], backend=BumbleScannerBackend
    )
    assert device is not None, "door not found"
    lap("scan")
    client = BleakClient(device, backend=BumbleClientBackend)
    await client.connect()
    lap("connect")
    assert len(await client.read_gatt_char(READ_CHAR)) == 16
    lap("read_16B")
    await client.write_gatt_char(WRITE_CHAR, bytes(300), response=True)
    lap("write_300B")
    pong: asyncio.Future[bytearray] = asyncio.get_running_loop().create_future()

    def on_pong(_: BleakGATTCharacteristic, data: bytearray) -> None:
        if not pong.done():
            pong.set_result(data)

    await client.start_notify(NOTIFY_CHAR, on_pong)
    mark = time.perf_counter()  # subscribing is set-up, not part of the round trip
    await client.write_gatt_char(WRITE_CHAR, b"ping", response=True)
    assert await asyncio.wait_for(pong, 5) == bytearray(b"pong")
    lap("write_notify_rtt")
    await client.disconnect()
    lap("disconnect")
    times["total"] = (time.perf_counter() - start) * 1000
    return times


async def bench(runs: int, interval_ms: float, port: int | None) -> list[dict[str, float]]:
    radio = None
    if port is None:
        radio, port = await start_door(interval_ms)
    configure_sim_radio("127.0.0.1", port)
    try:
        return [await one_session() for _ in range(runs)]
    finally:
        await detach_sim_radio()
        if radio is not None:
            await radio.close()


async def serve_door(interval_ms: float) -> None:
    """Child-process mode: run the radio and door until stdin closes."""
    radio, port = await start_door(interval_ms)
    print(port, flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await radio.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--interval-ms", type=float, default=30.0, help="door advertising interval")
    parser.add_argument("--cross-process", action="store_true")
    parser.add_argument("--serve-door", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_door:
        asyncio.run(serve_door(args.interval_ms))
        return
    child = None
    port = None
    if args.cross_process:
        child = subprocess.Popen(
            [sys.executable, __file__, "--serve-door", "--interval-ms", str(args.interval_ms)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None
        port = int(child.stdout.readline())
    try:
        results = asyncio.run(bench(args.runs, args.interval_ms, port))
    finally:
        if child is not None:
            assert child.stdin is not None
            child.stdin.close()
            child.wait(timeout=10)
    where = "cross-process (TCP)" if args.cross_process else "in-process (TCP loopback)"
    print(
        f"BLE session via bleak + sim backend, {where}, advertising interval {args.interval_ms:g} ms, "
        f"{args.runs} runs (median / max, ms):"
    )
    for step in STEPS:
        values = [r[step] for r in results]
        print(f"  {step:<18} {statistics.median(values):8.1f} {max(values):8.1f}")


if __name__ == "__main__":
    main()
