"""Receipts kept until acked, maintenance through phones, sealing: emulated radio (SPEC 7-8, 14-15)."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from bleak import BleakClient, BleakScanner
from bleak.exc import BleakGATTProtocolError
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from driver_app.adapters.ble_sim import BumbleClientBackend, BumbleScannerBackend
from driver_app.adapters.door_bleak import BleakDoorLink
from driver_app.core.ports import DoorOutcome
from mock_building.door.controller import DoorController
from mock_building.door.runner import RunningDoor, start_door
from mock_building.door.store import DoorStore
from mock_building.radio import VirtualRadio
from protocol import gatt
from protocol.api import DoorUpkeep
from protocol.grant import decode_claims, parse_grant
from protocol.keys import TrustedIssuerKey, derive_key_id, public_key_bytes
from protocol.maintenance import (
    Authority,
    Body,
    MaintenanceBundle,
    MaintenanceReport,
    Revocation,
    Role,
    Statement,
    StatementKind,
    sign_statement,
)
from protocol.reasons import Outcome, ReasonCode
from protocol.receipt import decode_receipt, verify_chain
from protocol.seal import kid_tag, seal, seal_key
from protocol.unlock import build_unlock_request
from tests.door_support import (
    DOOR_ID,
    DOOR_KEY,
    FakeScheduler,
    Issuer,
    decided,
    door_config,
    fixed_key,
    unlock_request,
)

pytestmark = pytest.mark.timeout(60)

EVENT_TIMEOUT_S = 5.0
HANDHELD = fixed_key()
OWNER = fixed_key()
SERVICE = fixed_key()
AUTHORITIES = (
    Authority(derive_key_id(public_key_bytes(OWNER)), Role.OWNER, public_key_bytes(OWNER)),
    Authority(derive_key_id(public_key_bytes(SERVICE)), Role.SERVICE, public_key_bytes(SERVICE)),
)


def signed(kind: StatementKind, body: Body, counter: int, key: Ed25519PrivateKey = SERVICE) -> bytes:
    return sign_statement(Statement(DOOR_ID, counter, kind, body), key, derive_key_id(public_key_bytes(key)))


@dataclass
class Door:
    running: RunningDoor
    issuer: Issuer
    state_dir: Path
    counter: itertools.count[int]

    @property
    def controller(self) -> DoorController:
        return self.running.controller

    def grant(self, issuer: Issuer | None = None, now: int | None = None) -> bytes:
        return (issuer or self.issuer).grant(HANDHELD, now=int(time.time()) if now is None else now)

    def statement(self, kind: StatementKind, body: Body, key: Ed25519PrivateKey = SERVICE) -> bytes:
        return signed(kind, body, next(self.counter), key)


async def start(radio: VirtualRadio, state_dir: Path, issuer: Issuer, **overrides: object) -> RunningDoor:
    config = door_config(state_dir, issuer, hold_open_s=60.0, authorities=AUTHORITIES, **overrides)
    return await start_door(config, radio.add_peripheral(config.name, config.address), air=radio)


@pytest.fixture
async def door(radio: VirtualRadio, tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Door]:
    issuer = Issuer()
    overrides = getattr(request, "param", {})
    running = await start(radio, tmp_path, issuer, **overrides)
    door = Door(running, issuer, tmp_path, itertools.count(1))
    yield door
    await door.running.stop()


class Link:
    """One connection, driven as the app drives it."""

    def __init__(self, client: BleakClient) -> None:
        self.client = client
        self.results: asyncio.Queue[bytes] = asyncio.Queue()

    async def unlock(self, grant: bytes) -> gatt.UnlockResult:
        await self.client.start_notify(
            gatt.RESULT_CHAR_UUID, lambda _c, data: self.results.put_nowait(bytes(data))
        )
        nonce = gatt.Challenge.from_bytes(
            bytes(await self.client.read_gatt_char(gatt.CHALLENGE_CHAR_UUID))
        ).nonce
        await self.client.write_gatt_char(
            gatt.UNLOCK_CHAR_UUID, unlock_request(grant, HANDHELD, nonce), response=True
        )
        async with asyncio.timeout(EVENT_TIMEOUT_S):
            result = await self.results.get()
        await self.client.stop_notify(gatt.RESULT_CHAR_UUID)
        return gatt.UnlockResult.from_bytes(result)

    async def relay(self, *statements: bytes) -> tuple[ReasonCode, ...]:
        await self.client.write_gatt_char(
            gatt.MAINTENANCE_CHAR_UUID, bytes(MaintenanceBundle(statements)), response=True
        )
        return MaintenanceReport.from_bytes(
            bytes(await self.client.read_gatt_char(gatt.MAINTENANCE_CHAR_UUID))
        ).reasons

    async def receipts(self, from_seq: int) -> list[bytes]:
        fetched: list[bytes] = []
        more = True
        while more:
            query = bytes(gatt.ReceiptQuery(from_seq + len(fetched)))
            await self.client.write_gatt_char(gatt.RECEIPTS_CHAR_UUID, query, response=True)
            batch = gatt.ReceiptBatch.from_bytes(
                bytes(await self.client.read_gatt_char(gatt.RECEIPTS_CHAR_UUID))
            )
            assert batch.receipts or not batch.more
            fetched += batch.receipts
            more = batch.more
        return fetched

    async def door_info(self) -> gatt.DoorInfo:
        return gatt.DoorInfo.from_bytes(bytes(await self.client.read_gatt_char(gatt.DOOR_INFO_CHAR_UUID)))


async def connect(door: Door) -> BleakClient:
    device = await BleakScanner.find_device_by_address(
        door.controller.config.address, timeout=EVENT_TIMEOUT_S, backend=BumbleScannerBackend
    )
    assert device is not None
    return BleakClient(device, backend=BumbleClientBackend)


def refuse_locally(controller: DoorController, count: int) -> None:
    """Receipts without the radio: refused attempts by a stranger's grant (fast set-up for big logs)."""
    stranger = Issuer()
    for _ in range(count):
        assert (
            local_unlock(controller, stranger.grant(HANDHELD, now=int(time.time()))) is ReasonCode.UNKNOWN_KEY
        )


async def test_receipts_need_a_valid_grant_then_page_through_a_long_log(door: Door) -> None:
    refuse_locally(door.controller, 11)
    async with await connect(door) as client:
        link = Link(client)
        for attempt in (
            link.client.read_gatt_char(gatt.RECEIPTS_CHAR_UUID),
            link.client.write_gatt_char(gatt.RECEIPTS_CHAR_UUID, bytes(gatt.ReceiptQuery(0)), response=True),
        ):
            with pytest.raises(BleakGATTProtocolError) as err:
                await attempt
            assert err.value.code == 0x08  # insufficient authorization
        assert (
            await link.unlock(door.grant(Issuer()))
        ).reason is ReasonCode.UNKNOWN_KEY  # a grant, not for us
        with pytest.raises(BleakGATTProtocolError):
            await link.client.read_gatt_char(gatt.RECEIPTS_CHAR_UUID)
        assert (await link.unlock(door.grant())).reason is ReasonCode.OK
        fetched = await link.receipts(0)
    report = verify_chain(fetched, public_key_bytes(DOOR_KEY), DOOR_ID)
    assert [r.seq for r in report.accepted] == list(range(13)) and not report.gaps and not report.breaks


def grant_id(grant: bytes) -> bytes:
    return decode_claims(parse_grant(grant).payload).grant_id


async def test_revocation_relayed_by_a_phone_stops_the_grant(door: Door) -> None:
    grant, other = door.grant(), door.grant()
    revocation = door.statement(StatementKind.REVOCATION, Revocation(grant_ids=(grant_id(grant),)))
    async with await connect(door) as client:
        link = Link(client)
        assert await link.relay(revocation) == (ReasonCode.OK,)
        result = await link.unlock(grant)
        assert (result.outcome, result.reason) == (Outcome.REFUSED, ReasonCode.GRANT_REVOKED)
        assert await link.relay(revocation) == (ReasonCode.STATEMENT_REPLAYED,)
    assert (await unlock_on_new_link(door, other)).reason is ReasonCode.OK
    maintained = decode_receipt(door.controller.receipts(0)[0])
    assert (maintained.outcome, maintained.statement) == (Outcome.MAINTAINED, 1)
    assert door.controller.state.last_seq == 2  # the replayed statement wrote nothing


async def test_revoked_handheld_and_epoch(door: Door) -> None:
    handheld_kid = derive_key_id(public_key_bytes(HANDHELD))
    now = int(time.time())
    async with await connect(door) as client:
        link = Link(client)
        assert await link.relay(door.statement(StatementKind.REVOCATION, Revocation(epoch=now - 5))) == (
            ReasonCode.OK,
        )
        assert (await link.unlock(door.grant(now=now - 10))).reason is ReasonCode.GRANT_REVOKED  # iat < epoch
        assert (await link.unlock(door.grant(now=now - 5))).reason is ReasonCode.OK
        assert await link.relay(
            door.statement(StatementKind.REVOCATION, Revocation(handheld_kids=(handheld_kid,)))
        ) == (ReasonCode.OK,)
        assert (await link.unlock(door.grant())).reason is ReasonCode.GRANT_REVOKED
    assert local_unlock(reopened(door), door.grant()) is ReasonCode.GRANT_REVOKED  # on disk, not in memory


def reopened(door: Door) -> DoorController:
    """A second controller over the same state directory: what a rebooted door would find."""
    return DoorController(door.controller.config, DoorStore(door.state_dir), FakeScheduler(time.time()))


def local_unlock(controller: DoorController, grant: bytes) -> ReasonCode:
    session = controller.open_session()
    nonce = controller.issue_challenge(session)
    try:
        return decided(controller, unlock_request(grant, HANDHELD, nonce), session).reason
    finally:
        controller.end_session(session)


async def unlock_on_new_link(door: Door, grant: bytes) -> gatt.UnlockResult:
    async with await connect(door) as client:
        return await Link(client).unlock(grant)


@pytest.mark.parametrize("door", [{"receipt_capacity": 4}], indirect=True)
async def test_full_store_fails_closed_until_a_signed_ack_prunes_it(door: Door) -> None:
    refuse_locally(door.controller, 4)
    grant = door.grant()
    async with await connect(door) as client:
        link = Link(client)
        assert (await link.door_info()).receipts_full is True
        result = await link.unlock(grant)
        assert (result.outcome, result.reason) == (Outcome.REFUSED, ReasonCode.RECEIPT_STORE_FULL)
        assert decode_receipt(result.receipt).seq == 3  # the head: nothing new was written
        backlog = await link.receipts(0)  # the valid grant lets this phone carry the backlog away
        assert [decode_receipt(r).seq for r in backlog] == [0, 1, 2, 3]
        forged_ack = signed(StatementKind.RECEIPT_ACK, 3, 1, key=fixed_key())
        assert await link.relay(forged_ack) == (ReasonCode.STATEMENT_UNKNOWN_SIGNER,)
        assert await link.relay(door.statement(StatementKind.RECEIPT_ACK, 3)) == (ReasonCode.OK,)
        assert (await link.door_info()).receipts_full is False
    # Only acknowledged receipts went: the head (3) stays for the chain, the ack's own receipt follows it.
    assert [decode_receipt(r).seq for r in door.controller.receipts(0)] == [3, 4]
    assert (await unlock_on_new_link(door, grant)).reason is ReasonCode.OK  # the grant was not used up


async def test_time_moves_forward_or_back_within_the_leeway_and_verified_iat_raises_a_floor(
    door: Door,
) -> None:
    door.controller.faults.set(clock_skew_s=-600)  # a slow door refuses fresh grants
    now = int(time.time())
    async with await connect(door) as client:
        link = Link(client)
        assert (await link.unlock(door.grant())).reason is ReasonCode.NOT_YET_VALID
        assert await link.relay(door.statement(StatementKind.TIME, now)) == (ReasonCode.OK,)
        assert abs(door.controller.now() - now) < 5
        leeway = door.controller.config.leeway_s
        assert await link.relay(
            door.statement(StatementKind.TIME, now - 2 * leeway),
            door.statement(StatementKind.TIME, now - leeway // 2),
        ) == (ReasonCode.CLOCK_STEP_REFUSED, ReasonCode.OK)
        assert (await link.unlock(door.grant())).reason is ReasonCode.OK
    future = now + 3600
    assert local_unlock(door.controller, door.grant(now=future - 10)) is ReasonCode.NOT_YET_VALID
    assert local_unlock(door.controller, door.grant(now=now + 20)) is ReasonCode.OK
    assert door.controller.now() >= now + 20  # the verified iat is the door's floor now


async def test_owner_adds_and_retires_issuer_keys_the_service_and_carriers_cannot(door: Door) -> None:
    newcomer = Issuer(name="newco")
    entry = TrustedIssuerKey(
        kid=newcomer.kid, issuer=newcomer.name, public_key=public_key_bytes(newcomer.key)
    )
    async with await connect(door) as client:
        link = Link(client)
        assert await link.relay(
            signed(StatementKind.TRUST_ADD, entry, 1, key=SERVICE),
            signed(StatementKind.TRUST_ADD, entry, 1, key=door.issuer.key),  # a carrier's grant key
            door.statement(StatementKind.TRUST_ADD, entry, key=OWNER),
        ) == (ReasonCode.STATEMENT_NOT_AUTHORIZED, ReasonCode.STATEMENT_UNKNOWN_SIGNER, ReasonCode.OK)
        assert newcomer.kid in (await link.door_info()).trusted_kids
        assert (await link.unlock(door.grant(newcomer))).reason is ReasonCode.OK
        assert await link.relay(door.statement(StatementKind.TRUST_RETIRE, door.issuer.kid, key=OWNER)) == (
            ReasonCode.OK,
        )
        assert (await link.unlock(door.grant())).reason is ReasonCode.UNKNOWN_KEY
        assert await link.relay(door.statement(StatementKind.TRUST_RETIRE, newcomer.kid, key=OWNER)) == (
            ReasonCode.TRUST_CHANGE_REFUSED,  # the last issuer key stays
        )
    last = decode_receipt(door.controller.receipts(0)[-1])  # the refusal used up its counter, on record
    assert (last.outcome, last.reason) == (Outcome.MAINTAINED, ReasonCode.TRUST_CHANGE_REFUSED)
    assert last.statement == 3
    assert local_unlock(reopened(door), door.grant(newcomer)) is ReasonCode.OK


async def test_unsigned_foreign_and_stale_statements_change_nothing(door: Door) -> None:
    bare = Statement(DOOR_ID, 50, StatementKind.TIME, int(time.time()) + 999).encode_payload()
    foreign = sign_statement(Statement("OAK-S", 51, StatementKind.TIME, 1), SERVICE,
                             derive_key_id(public_key_bytes(SERVICE)))  # fmt: skip
    async with await connect(door) as client:
        link = Link(client)
        assert await link.relay(bare, foreign, door.statement(StatementKind.RECEIPT_ACK, 0)) == (
            ReasonCode.STATEMENT_UNSIGNED,
            ReasonCode.STATEMENT_WRONG_DOOR,
            ReasonCode.OK,
        )
        assert await link.relay(signed(StatementKind.RECEIPT_ACK, 0, 0)) == (ReasonCode.STATEMENT_STALE,)
        with pytest.raises(BleakGATTProtocolError) as err:
            await link.client.write_gatt_char(gatt.MAINTENANCE_CHAR_UUID, b"\xff", response=True)
        assert err.value.code == 0x80
    assert door.controller.state.last_seq == 0  # one applied statement, one receipt


SEAL = bytes(range(32))


@pytest.mark.parametrize("door", [{"seal_key": SEAL}], indirect=True)
async def test_a_sealed_door_opens_only_sealed_grants_and_statements_and_hides_its_kids(door: Door) -> None:
    sealed_key = seal_key(SEAL)
    grant = door.grant()
    sealed = seal(grant, sealed_key)
    async with await connect(door) as client:
        link = Link(client)
        assert (
            await link.unlock(grant)
        ).reason is ReasonCode.MALFORMED  # plain: a service that forgot to seal
        assert (await link.door_info()).trusted_kids == (kid_tag(SEAL, door.issuer.kid),)
        statement = door.statement(StatementKind.RECEIPT_ACK, 0)
        assert await link.relay(statement, seal(statement, seal_key(bytes(32)))) == (
            ReasonCode.STATEMENT_MALFORMED,
            ReasonCode.STATEMENT_MALFORMED,  # plain, and sealed for another door
        )
        assert await link.relay(seal(door.statement(StatementKind.RECEIPT_ACK, 0), sealed_key)) == (
            ReasonCode.OK,
        )
        nonce = gatt.Challenge.from_bytes(bytes(await client.read_gatt_char(gatt.CHALLENGE_CHAR_UUID))).nonce
        request = unlock_request_for(sealed, grant_id(grant), nonce)
        await client.start_notify(
            gatt.RESULT_CHAR_UUID, lambda _c, data: link.results.put_nowait(bytes(data))
        )
        await client.write_gatt_char(gatt.UNLOCK_CHAR_UUID, request, response=True)
        async with asyncio.timeout(EVENT_TIMEOUT_S):
            assert gatt.UnlockResult.from_bytes(await link.results.get()).reason is ReasonCode.OK


def unlock_request_for(sealed: bytes, grant_id: bytes, nonce: bytes) -> bytes:
    return build_unlock_request(sealed, HANDHELD, nonce, DOOR_ID, grant_id=grant_id)


@pytest.mark.parametrize("door", [{"receipt_capacity": 4}], indirect=True)
async def test_the_apps_link_collects_a_full_doors_log_and_the_next_ack_reopens_it(door: Door) -> None:
    refuse_locally(door.controller, 4)  # a hostile phone filled the log; nobody relayed it
    link = BleakDoorLink(scanner_backend=BumbleScannerBackend, client_backend=BumbleClientBackend)
    grant = door.grant()

    async def unlock(upkeep: DoorUpkeep) -> DoorOutcome:
        return await link.unlock(
            DOOR_ID, lambda nonce: unlock_request(grant, HANDHELD, nonce), lambda _phase: None, upkeep
        )

    full = await unlock(DoorUpkeep(door_id=DOOR_ID, receipts_through=None))
    assert (full.accepted, full.reason) == (False, "receipt_store_full")
    assert [decode_receipt(r).seq for r in (full.receipt or b"", *full.backlog)] == [3, 0, 1, 2]
    ack = door.statement(StatementKind.RECEIPT_ACK, 3)  # what the service queues once it holds them
    opened = await unlock(DoorUpkeep(door_id=DOOR_ID, statements=(ack,), receipts_through=3))
    assert opened.accepted and opened.backlog == (door.controller.receipts(0)[1],)  # the ack's own receipt
