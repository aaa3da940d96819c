"""Door upkeep through phones against a whole mock building: HTTP service, virtual radio, BLE doors.

The driver app's own adapters (httpx access client, bleak door link on the bumble backend) carry
what the service signed to the door, and bring back the receipts the service was missing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import cbor2
import httpx
import pytest
from bleak import BleakClient, BleakScanner
from bleak.args import SizedBuffer
from bleak.backends.characteristic import BleakGATTCharacteristic
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from driver_app.adapters.access_http import HttpAccessClient
from driver_app.adapters.ble_sim import (
    BumbleClientBackend,
    BumbleScannerBackend,
    configure_sim_radio,
    detach_sim_radio,
)
from driver_app.adapters.door_bleak import BleakDoorLink
from driver_app.core.errors import AccessRefused
from driver_app.core.ports import DoorOutcome
from mock_building.building.running import RunningBuilding
from mock_building.cli import main
from protocol import gatt
from protocol.api import DoorUpkeep, GrantRequest, GrantResponse, b64url_encode
from protocol.keys import public_key_bytes
from protocol.receipt import decode_receipt
from protocol.seal import open_sealed, seal_key
from protocol.unlock import GRANT_FIELD_MAX, build_unlock_request
from tests.noon_clock import HandheldNoonClock, NoonClock

pytestmark = pytest.mark.timeout(120)

DOOR = "ELM-N"
STOP, BARCODE = "S1", "1Z999AA10123456784"


class CountingClient(BumbleClientBackend):
    """The app's bleak backend, logging the ATT requests the app starts (CCCD set-up aside)."""

    ops: ClassVar[list[str]] = []
    heard: ClassVar[list[bytes]] = []
    """Every value read or written: what a sniffer in the lobby hears."""

    async def read_gatt_char(self, characteristic: BleakGATTCharacteristic, **kwargs: Any) -> bytearray:
        type(self).ops.append(f"read {_NAMES[characteristic.uuid]}")
        value = await super().read_gatt_char(characteristic, **kwargs)
        type(self).heard.append(bytes(value))
        return value

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: SizedBuffer, response: bool
    ) -> None:
        type(self).ops.append(f"write {_NAMES[characteristic.uuid]}")
        type(self).heard.append(bytes(data))
        await super().write_gatt_char(characteristic, data, response)

    @classmethod
    def unlock_round_trips(cls) -> list[str]:
        """Requests up to and including the unlock request (what the driver waits for)."""
        return cls.ops[: cls.ops.index("write unlock") + 1]


_NAMES = {
    gatt.CHALLENGE_CHAR_UUID: "challenge", gatt.UNLOCK_CHAR_UUID: "unlock", gatt.RESULT_CHAR_UUID: "result",
    gatt.MAINTENANCE_CHAR_UUID: "maintenance", gatt.RECEIPTS_CHAR_UUID: "receipts",
    gatt.DOOR_INFO_CHAR_UUID: "info",
}  # fmt: skip


@dataclass
class Phone:
    access: HttpAccessClient
    link: BleakDoorLink
    key: Ed25519PrivateKey
    key_id: bytes
    url: str
    admin: str
    stop: tuple[str, str]
    """Stop id and a barcode of it, at a stop whose building has DOOR."""
    outbox: list[bytes] = field(default_factory=list)

    async def grant(self) -> GrantResponse:
        stop_id, barcode = self.stop
        request = GrantRequest(stop_id=stop_id, door_id=DOOR, barcode=barcode, handheld_key_id=self.key_id)
        return await self.access.request_grant(request)

    async def unlock(self, grant: GrantResponse, upkeep: DoorUpkeep | None) -> DoorOutcome:
        CountingClient.ops.clear()
        outcome = await self.link.unlock(
            DOOR,
            lambda nonce: build_unlock_request(grant.grant, self.key, nonce, DOOR, grant_id=grant.grant_id),
            lambda _p: None,
            upkeep,
        )
        self.outbox += [r for r in (outcome.receipt, *outcome.backlog) if r is not None]
        return outcome

    async def sync(self) -> None:
        if self.outbox:
            await self.access.upload_receipts(self.outbox)
            self.outbox.clear()

    async def admin_call(self, method: str, path: str, body: object = None) -> httpx.Response:
        async with httpx.AsyncClient(
            base_url=self.url, headers={"Authorization": f"Bearer {self.admin}"}
        ) as http:
            answer = await http.request(method, path, json=body)
        assert answer.is_success, answer.text
        return answer


async def sign_in(
    building: tuple[RunningBuilding, NoonClock],
    driver: str,
    password: str,
    stop: tuple[str, str] = (STOP, BARCODE),
) -> Phone:
    running, clock = building
    access = HttpAccessClient(running.url, clock=HandheldNoonClock(clock))
    await access.sign_in(driver, password)
    key = Ed25519PrivateKey.generate()
    key_id = await access.register_handheld(public_key_bytes(key))
    link = BleakDoorLink(scanner_backend=BumbleScannerBackend, client_backend=CountingClient)
    return Phone(access, link, key, key_id, running.url, running.scenario.admin_token, stop)


@pytest.fixture
async def phone(building: tuple[RunningBuilding, NoonClock]) -> AsyncIterator[Phone]:
    running, _ = building
    configure_sim_radio(running.radio_host, running.radio_port)
    phone = await sign_in(building, "demo", "demo-password")
    yield phone
    await detach_sim_radio()
    await phone.access.aclose()


async def test_revoking_a_grant_at_the_service_stops_it_at_the_door(phone: Phone) -> None:
    revoked = await phone.grant()
    assert revoked.upkeep is not None and revoked.upkeep.statements == ()
    await phone.admin_call(
        "POST", "/v1/revocations", {"grant_id": b64url_encode(revoked.grant_id), "reason": "lost"}
    )
    other = await phone.grant()  # any phone that goes to the door next carries the revocation
    assert other.upkeep is not None and len(other.upkeep.statements) == 1
    assert (await phone.unlock(other, other.upkeep)).accepted
    assert CountingClient.unlock_round_trips() == ["write maintenance", "read challenge", "write unlock"]
    refused = await phone.unlock(revoked, None)
    assert (refused.accepted, refused.reason) == (False, "grant_revoked")
    assert CountingClient.unlock_round_trips() == ["read challenge", "write unlock"]  # nothing pending
    await phone.sync()  # the door's "applied" receipt reaches the service: nothing is pending any more
    assert (await phone.grant()).upkeep == DoorUpkeep(door_id=DOOR, statements=(), receipts_through=2)


async def test_a_receipt_no_phone_relayed_is_read_by_the_next_one(phone: Phone) -> None:
    first = await phone.grant()
    lost = await phone.unlock(first, first.upkeep)  # this phone never syncs its receipt
    phone.outbox.clear()
    second = await phone.grant()
    outcome = await phone.unlock(second, second.upkeep)
    assert outcome.accepted and outcome.backlog == (lost.receipt,)
    await phone.sync()
    upkeep = (await phone.grant()).upkeep
    assert upkeep is not None and upkeep.receipts_through == 1
    third = await phone.unlock(await phone.grant(), upkeep)
    assert third.backlog == ()  # the head is only one ahead: nothing to read, no extra round trips
    assert decode_receipt(third.receipt or b"").seq == 2


async def test_set_time_corrects_a_slow_door_through_the_next_phone(
    phone: Phone, building: tuple[RunningBuilding, NoonClock]
) -> None:
    running, _ = building
    running.doors[DOOR].faults.set(clock_skew_s=-900)
    assert (await phone.unlock(await phone.grant(), None)).reason == "not_yet_valid"
    await phone.admin_call("POST", f"/v1/admin/doors/{DOOR}/time")
    grant = await phone.grant()
    assert grant.upkeep is not None and len(grant.upkeep.statements) == 1
    assert (await phone.unlock(grant, grant.upkeep)).accepted  # in force for the very unlock that carried it


async def test_rotated_and_dropped_carrier_keys_reach_the_door(
    phone: Phone, building: tuple[RunningBuilding, NoonClock]
) -> None:
    before = await phone.grant()
    await phone.admin_call("POST", "/v1/admin/carriers/parcelco/key-rotation")
    after = await phone.grant()
    assert after.upkeep is not None and len(after.upkeep.statements) == 2  # add the new key, retire the old
    assert (await phone.unlock(after, after.upkeep)).accepted
    assert (await phone.unlock(before, None)).reason == "unknown_key"
    await phone.sync()
    spare = await phone.grant()
    await phone.admin_call("DELETE", "/v1/admin/buildings/elm12/carriers/parcelco")
    with pytest.raises(AccessRefused) as refused:
        await phone.grant()
    assert refused.value.reason == "carrier_not_accepted"
    # A phone of the other carrier carries the owner's statement: parcelco's key is retired at the door.
    sam = await sign_in(building, "sam", "sam-password", stop=("T2", "SW0000000000000002"))
    try:
        carried = await sam.grant()
        assert carried.upkeep is not None and len(carried.upkeep.statements) == 1
        assert (await sam.unlock(carried, carried.upkeep)).accepted
    finally:
        await sam.access.aclose()
    assert (await phone.unlock(spare, None)).reason == "unknown_key"
    await phone.admin_call("PUT", "/v1/admin/buildings/elm12/carriers/parcelco")
    back = await phone.grant()
    assert (await phone.unlock(back, back.upkeep)).accepted


async def test_mock_building_revoke_takes_effect_at_the_door_on_the_next_phone(
    phone: Phone, capsys: pytest.CaptureFixture[str]
) -> None:
    revoked = await phone.grant()

    def cli(*argv: str) -> int:
        return main([*argv, "--url", phone.url])

    assert await asyncio.to_thread(cli, "revoke", revoked.grant_id.hex(), "--reason", "phone stolen") == 0
    assert await asyncio.to_thread(cli, "set-time", DOOR) == 0
    assert (
        await asyncio.to_thread(cli, "accept-carrier", "elm12", "parcelco") == 0
    )  # already accepted: harmless
    assert await asyncio.to_thread(cli, "revoke", "not-a-grant") == 2
    out = capsys.readouterr()
    assert f"revoked grant {revoked.grant_id.hex()}" in out.out and "invalid_request" in out.err
    carrier = await phone.grant()
    assert carrier.upkeep is not None and len(carrier.upkeep.statements) == 3  # revocation, time, trust add
    assert (await phone.unlock(carrier, carrier.upkeep)).accepted
    assert (await phone.unlock(revoked, None)).reason == "grant_revoked"
    assert await asyncio.to_thread(cli, "revoke", "--building", "elm12") == 0
    assert "revoked every grant issued so far at elm12" in capsys.readouterr().out


async def test_a_sniffer_hears_no_stop_package_tenant_or_carrier(
    phone: Phone, building: tuple[RunningBuilding, NoonClock]
) -> None:
    running, _ = building
    scenario = running.scenario
    await phone.admin_call("POST", "/v1/admin/carriers/swiftship/key-rotation")  # trust statements to carry
    lost = await phone.access.register_handheld(public_key_bytes(Ed25519PrivateKey.generate()))
    await phone.admin_call(
        "POST", "/v1/revocations", {"handheld_key_id": b64url_encode(lost), "reason": "lost"}
    )
    grant = await phone.grant()
    assert grant.upkeep is not None and len(grant.upkeep.statements) >= 2
    CountingClient.heard.clear()
    outcome = await phone.unlock(grant, grant.upkeep)
    assert outcome.accepted
    device = await BleakScanner.find_device_by_address(
        scenario.door(DOOR).ble_address, timeout=5, backend=BumbleScannerBackend
    )
    assert device is not None, "the door stopped advertising"
    async with BleakClient(device, backend=CountingClient) as client:
        await client.read_gatt_char(gatt.DOOR_INFO_CHAR_UUID)
    heard = [*CountingClient.heard, outcome.receipt or b""]
    package = scenario.routes[0].stops[0].packages[0]
    secrets = [STOP, package.id, package.barcode, package.unit or "", "demo"]
    for carrier in scenario.carriers:
        secrets += [carrier.id, carrier.name, carrier.kid]
    # As CBOR text or bytes (head byte + UTF-8), the way messages carry them (a kid is a bstr): short
    # ids then cannot match random ciphertext by chance.
    secrets = [secret for secret in secrets if secret]
    encoded = [(cbor2.dumps(secret), cbor2.dumps(secret.encode())) for secret in secrets]
    plain = open_sealed(grant.grant, seal_key(scenario.door_seal_key(DOOR)), GRANT_FIELD_MAX)
    assert cbor2.dumps("parcelco") in plain and cbor2.dumps(STOP) in plain  # what sealing hides
    for value in heard:
        for secret, patterns in zip(secrets, encoded, strict=True):
            assert not any(pattern in value for pattern in patterns), f"{secret!r} heard in clear"
