"""BLE to the doors through bleak's public API, implementing the core's `DoorLink` port.

`backend` classes are bleak's own hook: None for the OS backend (real doors), or the bumble-based
`driver_app.adapters.ble_sim` backends to reach a mock building's emulated doors. One unlock per connection,
as protocol/SPEC.md describes: subscribe to Result, (relay pending maintenance statements), read
Challenge, write the Unlock Request with response (a long write), await the Result indication, (read
the receipts the service is missing); the link is always disconnected afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence

from bleak import BleakClient, BleakScanner
from bleak.backends.client import BaseBleakClient
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak.exc import BleakBluetoothNotAvailableError, BleakError, BleakGATTProtocolError

from driver_app.core.errors import ClientReason, DoorRefused, DoorUnreachable
from driver_app.core.ports import DoorOutcome, DoorPhase, NearbyDoor
from protocol.api import DoorUpkeep
from protocol.errors import ProtocolError
from protocol.gatt import (
    ATT_ERROR_RATE_LIMITED,
    CHALLENGE_CHAR_UUID,
    MAINTENANCE_CHAR_UUID,
    RECEIPTS_CHAR_UUID,
    RESULT_CHAR_UUID,
    SERVICE_UUID,
    UNLOCK_CHAR_UUID,
    AdvertisedDoor,
    Challenge,
    ReceiptBatch,
    ReceiptQuery,
    UnlockResult,
)
from protocol.maintenance import MaintenanceBundle
from protocol.reasons import ReasonCode
from protocol.receipt import decode_receipt

#: After the first wanted door is heard, listen this much longer for the building's other doors.
SETTLE_SECONDS = 0.3
#: Receipt batches read per connection after the Result (2 round trips each; SPEC section 7).
BACKLOG_BATCHES = 2
#: ... and after `receipt_store_full`, when the delivery failed anyway and the door needs its log collected.
FULL_STORE_BATCHES = 16
_LINK_ERRORS = (BleakError, OSError, TimeoutError, EOFError)


class BleakDoorLink:
    def __init__(
        self,
        *,
        scanner_backend: type[BaseBleakScanner] | None = None,
        client_backend: type[BaseBleakClient] | None = None,
        connect_timeout: float = 10.0,
        result_timeout: float = 10.0,
        settle: float = SETTLE_SECONDS,
    ) -> None:
        self._scanner_backend = scanner_backend
        self._client_backend = client_backend
        self._connect_timeout = connect_timeout
        self._result_timeout = result_timeout
        self._settle = settle
        self._devices: dict[str, BLEDevice] = {}

    async def find_doors(self, door_ids: Sequence[str], timeout: float) -> list[NearbyDoor]:
        """Listen for the doors' advertisements; door ids come from the service data, no connecting."""
        wanted = set(door_ids)
        heard: dict[str, tuple[BLEDevice, int]] = {}
        first = asyncio.Event()
        every = asyncio.Event()

        def on_advertisement(device: BLEDevice, advertisement: AdvertisementData) -> None:
            door_id = _door_id(advertisement)
            if door_id not in wanted:
                return
            heard[door_id] = (device, advertisement.rssi)
            first.set()
            if set(heard) == wanted:
                every.set()

        try:
            async with BleakScanner(on_advertisement, backend=self._scanner_backend):
                if await _wait(first, timeout):
                    await _wait(every, self._settle)
        except BleakBluetoothNotAvailableError as err:  # no adapter / no radio: walking closer won't help
            raise DoorUnreachable(ClientReason.RADIO_UNAVAILABLE, f"no radio: {err}") from err
        except BleakError as err:
            raise DoorUnreachable(ClientReason.DOOR_NOT_FOUND, f"scanning failed: {err}") from err
        self._devices.update({door_id: device for door_id, (device, _) in heard.items()})
        nearby = [NearbyDoor(door_id, rssi) for door_id, (_, rssi) in heard.items()]
        return sorted(nearby, key=lambda door: door.rssi, reverse=True)

    async def unlock(
        self,
        door_id: str,
        make_request: Callable[[bytes], bytes],
        on_phase: Callable[[DoorPhase], None],
        upkeep: DoorUpkeep | None = None,
    ) -> DoorOutcome:
        on_phase(DoorPhase.CONNECTING)
        device = self._devices.get(door_id)
        if device is None:
            await self.find_doors([door_id], self._connect_timeout)
            device = self._devices.get(door_id)
            if device is None:
                raise DoorUnreachable(ClientReason.DOOR_NOT_FOUND, f"door {door_id} not in range")
        loop = asyncio.get_running_loop()
        result: asyncio.Future[bytes] = loop.create_future()

        def on_disconnect(_: BleakClient) -> None:
            if not result.done():
                lost = DoorUnreachable(ClientReason.DOOR_LINK_LOST, "door disconnected", retryable=True)
                result.set_exception(lost)

        def on_result(_: object, data: bytearray) -> None:
            if not result.done():
                result.set_result(bytes(data))

        client = BleakClient(
            device,
            disconnected_callback=on_disconnect,
            timeout=self._connect_timeout,
            backend=self._client_backend,
        )
        try:
            await client.connect()
            await client.start_notify(RESULT_CHAR_UUID, on_result)
            if upkeep is not None and upkeep.statements:  # the one extra round trip (SPEC section 14)
                bundle = bytes(MaintenanceBundle(upkeep.statements))
                await client.write_gatt_char(MAINTENANCE_CHAR_UUID, bundle, response=True)
            challenge = Challenge.from_bytes(bytes(await client.read_gatt_char(CHALLENGE_CHAR_UUID)))
            request = make_request(challenge.nonce)
            on_phase(DoorPhase.VERIFYING)
            await client.write_gatt_char(UNLOCK_CHAR_UUID, request, response=True)
            indicated = await asyncio.wait_for(result, self._result_timeout)
            # An empty indication means the result did not fit the MTU: it is readable instead.
            data = indicated or bytes(await client.read_gatt_char(RESULT_CHAR_UUID))
            answer = UnlockResult.from_bytes(data)
            backlog = await _read_backlog(client, answer, upkeep)
        except _LINK_ERRORS as err:
            self._devices.pop(door_id, None)  # look for it afresh next time
            if isinstance(err, BleakGATTProtocolError) and err.code == ATT_ERROR_RATE_LIMITED:
                # The door decided nothing (SPEC §8): the grant is unused, a later retry may work.
                limited = ReasonCode.RATE_LIMITED.slug
                raise DoorUnreachable(limited, f"{door_id}: rate limited", retryable=True) from err
            raise DoorUnreachable(ClientReason.DOOR_LINK_LOST, f"{door_id}: {err!r}", retryable=True) from err
        except ProtocolError as err:
            raise DoorRefused(err.reason.slug, f"{door_id} sent an unreadable message: {err}") from err
        finally:
            with contextlib.suppress(*_LINK_ERRORS):
                await client.disconnect()
            if not result.done():
                result.cancel()
            elif not result.cancelled():
                result.exception()  # retrieved: a late disconnect is not an error worth a warning
        return DoorOutcome(
            door_id, answer.unlocked, answer.reason.slug, answer.receipt, answer.open_seconds, backlog=backlog
        )


async def _read_backlog(
    client: BleakClient, answer: UnlockResult, upkeep: DoorUpkeep | None
) -> tuple[bytes, ...]:
    """The door's receipts between what the service holds and this Result's (the head), if any.

    Only after a valid grant may a link read them, and only when the head is ahead of what the
    service acknowledged, so an ordinary unlock reads nothing. Best effort: the unlock already happened.
    """
    if upkeep is None:
        return ()
    try:
        head = decode_receipt(answer.receipt).seq
    except ProtocolError:
        return ()
    start = 0 if upkeep.receipts_through is None else upkeep.receipts_through + 1
    fetched: list[bytes] = []
    batches = FULL_STORE_BATCHES if answer.reason is ReasonCode.RECEIPT_STORE_FULL else BACKLOG_BATCHES
    try:
        for _ in range(batches):
            if start + len(fetched) >= head:
                break
            query = bytes(ReceiptQuery(start + len(fetched)))
            await client.write_gatt_char(RECEIPTS_CHAR_UUID, query, response=True)
            batch = ReceiptBatch.from_bytes(bytes(await client.read_gatt_char(RECEIPTS_CHAR_UUID)))
            fetched += [r for r in batch.receipts if decode_receipt(r).seq < head]
            if not batch.more or not batch.receipts:
                break
    except (*_LINK_ERRORS, ProtocolError):
        pass  # what was read is kept; the next phone reads the rest
    return tuple(fetched)


def _door_id(advertisement: AdvertisementData) -> str | None:
    data = advertisement.service_data.get(SERVICE_UUID)
    if data is None:
        return None
    try:
        return AdvertisedDoor.from_bytes(data).door_id
    except ProtocolError:
        return None  # another version or a malformed beacon: not a door we can talk to


async def _wait(event: asyncio.Event, timeout: float) -> bool:
    try:
        await asyncio.wait_for(event.wait(), timeout)
    except TimeoutError:
        return False
    return True
