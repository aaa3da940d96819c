"""A driver-app stand-in run as a separate process by the cross-process ble_sim tests.

It uses only bleak's public API with the sim backends, attached over TCP to the radio in the
test process. It reports on stdout, one JSON object per line.

    python ble_sim_driver_proc.py PORT ADDRESS session   # scan, connect, read, write, exit
    python ble_sim_driver_proc.py PORT ADDRESS hold      # connect, then wait to be killed
"""

from __future__ import annotations

import asyncio
import json
import sys

from bleak import BleakClient, BleakScanner

from driver_app.adapters.ble_sim import BumbleClientBackend, BumbleScannerBackend, configure_sim_radio

SERVICE = "6e400001-b5a3-f393-e0a9-e50e24dcca9e"
READ_CHAR = "6e400002-b5a3-f393-e0a9-e50e24dcca9e"
WRITE_CHAR = "6e400003-b5a3-f393-e0a9-e50e24dcca9e"
PAYLOAD = bytes(i % 256 for i in range(300))


def report(**fields: object) -> None:
    print(json.dumps(fields), flush=True)


async def run(port: int, address: str, mode: str) -> None:
    configure_sim_radio("127.0.0.1", port)
    device = await BleakScanner.find_device_by_filter(
        lambda d, adv: d.address == address,
        timeout=10,
        service_uuids=[SERVICE],
        backend=BumbleScannerBackend,
    )
    if device is None:
        report(event="not-found")
        return
    async with BleakClient(device, backend=BumbleClientBackend) as client:
        report(event="connected", mtu=client.mtu_size)
        if mode == "hold":
            await asyncio.Event().wait()
        value = await client.read_gatt_char(READ_CHAR)
        await client.write_gatt_char(WRITE_CHAR, PAYLOAD, response=True)
        report(event="done", read=value.decode())


if __name__ == "__main__":
    asyncio.run(run(int(sys.argv[1]), sys.argv[2], sys.argv[3]))
