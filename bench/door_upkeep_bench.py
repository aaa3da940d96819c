"""Unlock round trips and bytes with and without pending maintenance (SPEC section 14).

The app's own door link (bleak on the blesim backend) unlocks a sealed emulated door, once with
nothing to relay and once carrying a typical bundle (a sealed revocation and a sealed time
statement). Counted on the door's GATT server: app-initiated ATT round trips on LobbyKey
characteristics (reads, writes, long-write parts; MTU exchange, discovery and the CCCD write are
connection set-up), and all ATT bytes of the connection; plus the median wall time of `unlock`.

    PYTHONPATH=. python bench/door_upkeep_bench.py [--runs 10]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import tempfile
import time
from collections import Counter
from functools import partial
from pathlib import Path

from bumble import att
from bumble.device import Device
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from driver_app.adapters.ble_sim import (
    BumbleClientBackend,
    BumbleScannerBackend,
    configure_sim_radio,
    detach_sim_radio,
)
from driver_app.adapters.door_bleak import BleakDoorLink
from mock_building.door import DoorConfig
from mock_building.door.runner import start_door
from mock_building.radio import VirtualRadio
from protocol import gatt
from protocol.api import DoorUpkeep
from protocol.grant import GrantClaims, issue_grant
from protocol.keys import TrustedIssuerKey, TrustStore, derive_key_id, public_key_bytes
from protocol.maintenance import (
    Authority,
    Revocation,
    Role,
    Statement,
    StatementKind,
    sign_statement,
)
from protocol.seal import seal, seal_key
from protocol.unlock import build_unlock_request

DOOR_ID, ADDRESS = "BENCH", "C1:22:33:44:55:77"
_OURS = {u.upper() for u in (gatt.CHALLENGE_CHAR_UUID, gatt.UNLOCK_CHAR_UUID, gatt.MAINTENANCE_CHAR_UUID,
                           gatt.RECEIPTS_CHAR_UUID, gatt.RESULT_CHAR_UUID,
                           gatt.DOOR_INFO_CHAR_UUID)}  # fmt: skip


class Tap:
    """App-initiated requests on LobbyKey value handles, and every ATT byte, on the door's server."""

    def __init__(self, device: Device) -> None:
        server = device.gatt_server
        self.counts: Counter[str] = Counter()
        self.phase = "unlock"
        """"unlock" until the Result goes out, then "after": the backlog no longer delays the driver."""
        receive, send = server.on_gatt_pdu, server.send_gatt_pdu

        def ours(pdu: att.ATT_PDU) -> bool:
            handle = getattr(pdu, "attribute_handle", None)
            attribute = server.get_attribute(handle) if handle is not None else None
            return attribute is not None and str(attribute.type).upper() in _OURS

        def on_gatt_pdu(bearer: att.Bearer, att_pdu: att.ATT_PDU) -> None:
            self.counts["bytes"] += len(bytes(att_pdu))
            if att_pdu.op_code in att.ATT_REQUESTS and ours(att_pdu):
                self.counts[f"{self.phase} att requests"] += 1  # a long write's Prepare Writes each count...
                if (
                    att_pdu.op_code != att.Opcode.ATT_PREPARE_WRITE_REQUEST
                    or getattr(att_pdu, "value_offset", 0) == 0
                ):
                    self.counts[f"{self.phase} round trips"] += 1  # ...and once here, as the app's one write
            receive(bearer, att_pdu)

        def send_gatt_pdu(bearer: att.Bearer, pdu: bytes) -> None:
            self.counts["bytes"] += len(pdu)
            if pdu and pdu[0] == att.Opcode.ATT_HANDLE_VALUE_INDICATION:
                self.phase = "after"
            send(bearer, pdu)

        server.on_gatt_pdu = on_gatt_pdu  # type: ignore[method-assign]  # a tap on bumble's server
        server.send_gatt_pdu = send_gatt_pdu  # type: ignore[method-assign]  # as above


async def main(runs: int) -> None:
    issuer, handheld, service = (Ed25519PrivateKey.generate() for _ in range(3))
    kid, service_kid = (derive_key_id(public_key_bytes(k)) for k in (issuer, service))
    trust = TrustStore.of([TrustedIssuerKey(kid=kid, issuer="bench", public_key=public_key_bytes(issuer))])
    secret = bytes(range(32))
    sealing = seal_key(secret)
    counters, grant_ids = itertools.count(1), itertools.count(1)
    radio = VirtualRadio()
    configure_sim_radio("127.0.0.1", await radio.serve(port=0))
    link = BleakDoorLink(scanner_backend=BumbleScannerBackend, client_backend=BumbleClientBackend)
    figures: dict[str, list[dict[str, float]]] = {"nothing pending": [], "2 statements pending": []}
    with tempfile.TemporaryDirectory() as state:
        config = DoorConfig(
            door_id=DOOR_ID,
            name="bench door",
            private_key=Ed25519PrivateKey.generate(),
            trusted_keys=trust,
            address=ADDRESS,
            state_dir=Path(state),
            hold_open_s=0.5,
            authorities=(Authority(service_kid, Role.SERVICE, public_key_bytes(service)),),
            seal_key=secret,
        )
        device = radio.add_peripheral(config.name, config.address)
        tap = Tap(device)
        door = await start_door(config, device, air=radio)
        await link.find_doors([DOOR_ID], 5)
        for _ in range(runs):
            for label, samples in figures.items():
                statements: tuple[bytes, ...] = ()
                if label != "nothing pending":
                    body = Revocation(grant_ids=(bytes(16),))
                    statements = tuple(
                        seal(
                            sign_statement(
                                Statement(DOOR_ID, next(counters), kind, value), service, service_kid
                            ),
                            sealing,
                        )
                        for kind, value in (
                            (StatementKind.REVOCATION, body),
                            (StatementKind.TIME, int(time.time())),
                        )
                    )
                claims = GrantClaims.for_delivery(
                    issuer="bench",
                    subject="drv-0123456789abcdef",
                    door_id=DOOR_ID,
                    stop_id="stop-17",
                    package_id="PKG-0000000017",
                    carrier="bench",
                    confirmation_key=public_key_bytes(handheld),
                    grant_id=next(grant_ids).to_bytes(16, "big"),
                    now=int(time.time()),
                )
                grant, grant_id = seal(issue_grant(claims, issuer, kid), sealing), claims.grant_id
                # The service holds every receipt so far: only this visit's own receipts are new.
                upkeep = DoorUpkeep(
                    door_id=DOOR_ID, statements=statements, receipts_through=door.controller.state.last_seq
                )
                tap.counts.clear()
                tap.phase = "unlock"
                start = time.perf_counter()
                outcome = await link.unlock(
                    DOOR_ID,
                    partial(build_unlock_request, grant, handheld, door_id=DOOR_ID, grant_id=grant_id),
                    lambda _phase: None,
                    upkeep,
                )
                elapsed = time.perf_counter() - start
                assert outcome.accepted, outcome.reason
                samples.append({"ms": elapsed * 1000, **tap.counts, "bundle": sum(map(len, statements))})
        await door.stop()
    await detach_sim_radio()
    await radio.close()
    print(f"unlock through the app's door link, sealed door, {runs} runs each (medians)")
    for label, samples in figures.items():

        def median(key: str, rows: list[dict[str, float]] = samples) -> float:
            return statistics.median(row.get(key, 0) for row in rows)

        print(
            f"  {label:22s} unlock: {median('unlock round trips'):1.0f} app round trips"
            f" ({median('unlock att requests'):1.0f} ATT requests); after the result (backlog):"
            f" {median('after round trips'):1.0f}; {median('bytes'):5.0f} ATT bytes in all"
            f" (statements {median('bundle'):3.0f} B); link.unlock {median('ms'):6.1f} ms"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    asyncio.run(main(parser.parse_args().runs))
