"""A full unlock through bleak (blesim backend) against an emulated door on the virtual radio.

Per run: scan for the door, connect (MTU exchange + service discovery), subscribe to results,
read the challenge, write the unlock request, wait for the indicated result. Prints median
times over N runs, and the ATT traffic the door saw (counted on the door's GATT server):
round trips and bytes, split into connection set-up and the unlock itself.

    PYTHONPATH=. python bench/door_unlock_bench.py [--runs 20] [--interval-ms 30]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from bleak import BleakClient, BleakScanner
from bumble import att
from bumble.device import Device
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from driver_app.adapters.ble_sim import (
    BumbleClientBackend,
    BumbleScannerBackend,
    configure_sim_radio,
    detach_sim_radio,
)
from mock_building.door import DoorConfig
from mock_building.door.runner import start_door
from mock_building.radio import VirtualRadio
from protocol import gatt
from protocol.grant import GrantClaims, issue_grant
from protocol.keys import TrustedIssuerKey, TrustStore, derive_key_id, public_key_bytes
from protocol.reasons import ReasonCode
from protocol.unlock import build_unlock_request

DOOR_ADDRESS = "C1:22:33:44:55:66"


class AttTap:
    """Counts the ATT PDUs a door's GATT server receives and sends, per phase."""

    def __init__(self, device: Device) -> None:
        server = device.gatt_server
        self.phase = "idle"
        self.requests: Counter[str] = Counter()
        self.pdus: Counter[tuple[str, str]] = Counter()
        self.bytes: Counter[tuple[str, str]] = Counter()
        receive, send = server.on_gatt_pdu, server.send_gatt_pdu

        def on_gatt_pdu(bearer: att.Bearer, att_pdu: att.ATT_PDU) -> None:
            self._count("client->door", len(bytes(att_pdu)))
            if att_pdu.op_code in att.ATT_REQUESTS:
                self.requests[self.phase] += 1
            receive(bearer, att_pdu)

        def send_gatt_pdu(bearer: att.Bearer, pdu: bytes) -> None:
            self._count("door->client", len(pdu))
            send(bearer, pdu)

        server.on_gatt_pdu = on_gatt_pdu  # type: ignore[method-assign]  # a tap on bumble's server
        server.send_gatt_pdu = send_gatt_pdu  # type: ignore[method-assign]  # as above

    def _count(self, direction: str, size: int) -> None:
        self.pdus[(self.phase, direction)] += 1
        self.bytes[(self.phase, direction)] += size


async def one_run(tap: AttTap, grant: bytes, handheld: Ed25519PrivateKey) -> dict[str, float]:
    times: dict[str, float] = {}
    start = time.perf_counter()
    device = await BleakScanner.find_device_by_address(DOOR_ADDRESS, timeout=5, backend=BumbleScannerBackend)
    assert device is not None, "door not found"
    times["scan"] = time.perf_counter() - start
    results: asyncio.Queue[bytes] = asyncio.Queue()
    tap.phase = "setup"
    mark = time.perf_counter()
    async with BleakClient(device, backend=BumbleClientBackend) as client:
        await client.start_notify(gatt.RESULT_CHAR_UUID, lambda _c, data: results.put_nowait(bytes(data)))
        times["connect+discover+subscribe"] = time.perf_counter() - mark
        tap.phase = "unlock"
        mark = time.perf_counter()
        challenge = gatt.Challenge.from_bytes(
            bytes(await client.read_gatt_char(gatt.CHALLENGE_CHAR_UUID))
        ).nonce
        request = build_unlock_request(grant, handheld, challenge, "BENCH")
        await client.write_gatt_char(gatt.UNLOCK_CHAR_UUID, request, response=True)
        result = gatt.UnlockResult.from_bytes(await asyncio.wait_for(results.get(), 5))
        times["challenge+unlock+result"] = time.perf_counter() - mark
        tap.phase = "teardown"
    assert result.reason is ReasonCode.OK, result.reason
    times["total"] = time.perf_counter() - start
    times["request_bytes"] = len(request)
    times["result_bytes"] = len(bytes(result))
    return times


async def main(runs: int, interval_ms: float) -> None:
    issuer_key, handheld = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    kid = derive_key_id(public_key_bytes(issuer_key))
    trust = TrustStore.of(
        [TrustedIssuerKey(kid=kid, issuer="bench", public_key=public_key_bytes(issuer_key))]
    )
    radio = VirtualRadio()
    configure_sim_radio("127.0.0.1", await radio.serve(port=0))
    with tempfile.TemporaryDirectory() as state:
        config = DoorConfig(
            door_id="BENCH",
            name="bench door",
            private_key=Ed25519PrivateKey.generate(),
            trusted_keys=trust,
            address=DOOR_ADDRESS,
            state_dir=Path(state),
            hold_open_s=0.5,
            advertising_interval_ms=interval_ms,
        )
        device = radio.add_peripheral(config.name, config.address)
        tap = AttTap(device)
        door = await start_door(config, device, air=radio)
        samples: list[dict[str, float]] = []
        for n in range(runs):
            claims = GrantClaims.for_delivery(
                issuer="bench",
                subject="driver",
                door_id="BENCH",
                stop_id="stop",
                package_id="pkg",
                carrier="bench",
                confirmation_key=public_key_bytes(handheld),
                grant_id=n.to_bytes(16, "big"),
                now=int(time.time()),
            )
            samples.append(await one_run(tap, issue_grant(claims, issuer_key, kid), handheld))
        await door.stop()
    await detach_sim_radio()
    await radio.close()

    print(
        f"door unlock over bleak + blesim, virtual radio, advertising interval {interval_ms:g} ms, {runs} runs"
    )
    for key in ("scan", "connect+discover+subscribe", "challenge+unlock+result", "total"):
        values = [s[key] * 1000 for s in samples]
        print(f"  {key:28s} median {statistics.median(values):7.1f} ms   max {max(values):7.1f} ms")
    print(
        f"  unlock request {samples[0]['request_bytes']:.0f} B, indicated result {samples[0]['result_bytes']:.0f} B"
    )
    for phase in ("setup", "unlock"):
        print(
            f"  ATT {phase:6s} per run: {tap.requests[phase] / runs:4.1f} round trips, "
            f"{tap.pdus[(phase, 'client->door')] / runs:4.1f} PDUs / {tap.bytes[(phase, 'client->door')] / runs:5.0f} B "
            f"client->door, {tap.pdus[(phase, 'door->client')] / runs:4.1f} PDUs / "
            f"{tap.bytes[(phase, 'door->client')] / runs:5.0f} B door->client"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--interval-ms", type=float, default=30.0)
    args = parser.parse_args()
    asyncio.run(main(args.runs, args.interval_ms))
    sys.exit(0)
