"""The door as a BLE peripheral on a bumble `Device`: a thin wrapper around `DoorController`.

The same class runs on the virtual radio and on a real controller (USB dongle, HCI socket,
serial); only the way the `Device` was built differs. Per connection a session (challenge)
is opened on connect and closed on disconnect; bumble reassembles long writes; the result of
an unlock request is indicated on the result characteristic (and stays readable there for
that connection) after the receipt is on disk. A Challenge too long for one ATT read is
continued, not redrawn, by the Read Blob requests that follow.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Protocol

from bumble.att import ATT_Error, ErrorCode
from bumble.device import Connection, Device
from bumble.gatt import Characteristic, CharacteristicValue, Service
from bumble.hci import HCI_LE_Set_Advertising_Enable_Command

from mock_building.door.att_guard import AttGuard, answered
from mock_building.door.controller import DoorController, Session
from mock_building.door.faults import DoorFaults
from mock_building.door.link_guard import DropReason, LinkGuard
from mock_building.door.rate_limit import LINK_ATTEMPTS_MAX, PeerBackoff
from mock_building.door.read_offsets import ReadOffsetTap
from protocol import gatt
from protocol.errors import ProtocolError
from protocol.maintenance import MaintenanceBundle, MaintenanceReport
from protocol.reasons import Outcome

__all__ = ["AirControl", "DoorPeripheral"]

logger = logging.getLogger(__name__)

_RECEIPTS_PER_READ = 23
"""More than a batch can hold (ReceiptBatch.pack keeps the ones that fit)."""


class AirControl(Protocol):
    """How loud the door is heard: only an emulated radio can change that (`VirtualRadio`)."""

    def set_rssi(self, address: str, dbm: int | None) -> None: ...

    def sleep_until_wanted(self, address: str, wake: Callable[[], None]) -> None: ...


class DoorPeripheral:
    """Serves one door's GATT profile and advertisement, honouring its faults."""

    def __init__(self, controller: DoorController, device: Device, *, air: AirControl | None = None) -> None:
        self.controller = controller
        self.device = device
        self._air = air
        self._sessions: dict[Connection, Session] = {}
        self._started = False
        self._switched_on = False
        """The bumble device is powered on (it may still be dormant on an emulated radio)."""
        self._powered = False
        self._unsubscribe = controller.faults.subscribe(self._on_faults)
        self._results: dict[Connection, bytes] = {}
        self._challenge_reads: dict[Connection, tuple[ReadOffsetTap, bytes | None]] = {}
        self._receipt_cursor: dict[Connection, int] = {}
        self._maintenance_reports: dict[Connection, bytes] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        loop = asyncio.get_running_loop()
        self._links: LinkGuard[Connection] = LinkGuard(loop, self._drop_link)
        self._backoff = PeerBackoff(loop.time)
        self._result: Characteristic[bytes] = Characteristic(
            gatt.RESULT_CHAR_UUID,
            Characteristic.Properties.READ | Characteristic.Properties.INDICATE,
            Characteristic.READABLE,
            CharacteristicValue(read=answered(self._read_result)),
        )
        self._challenge: Characteristic[bytes] = Characteristic(
            gatt.CHALLENGE_CHAR_UUID,
            Characteristic.Properties.READ,
            Characteristic.READABLE,
            CharacteristicValue(read=answered(self._read_challenge)),
        )
        device.add_service(
            Service(
                gatt.SERVICE_UUID,
                [
                    Characteristic(
                        gatt.DOOR_INFO_CHAR_UUID,
                        Characteristic.Properties.READ,
                        Characteristic.READABLE,
                        CharacteristicValue(read=answered(lambda _c: controller.door_info())),
                    ),
                    self._challenge,
                    Characteristic(
                        gatt.UNLOCK_CHAR_UUID,
                        Characteristic.Properties.WRITE,
                        Characteristic.WRITEABLE,
                        CharacteristicValue(write=answered(self._write_request)),
                    ),
                    self._result,
                    Characteristic(
                        gatt.RECEIPTS_CHAR_UUID,
                        Characteristic.Properties.READ | Characteristic.Properties.WRITE,
                        Characteristic.READABLE | Characteristic.WRITEABLE,
                        CharacteristicValue(
                            read=answered(self._read_receipts), write=answered(self._write_receipt_cursor)
                        ),
                    ),
                    Characteristic(
                        gatt.MAINTENANCE_CHAR_UUID,
                        Characteristic.Properties.READ | Characteristic.Properties.WRITE,
                        Characteristic.READABLE | Characteristic.WRITEABLE,
                        CharacteristicValue(
                            read=answered(self._read_maintenance), write=answered(self._write_maintenance)
                        ),
                    ),
                ],
            )
        )
        device.on("connection", self._on_connection)

    async def start(self) -> None:
        """Power the device on and advertise (unless the door is powered off).

        On an emulated radio the device is powered on only once a handheld in range scans for
        it: dozens of HCI round trips a door, which for a city's thousand doors, nearly all out of
        anyone's earshot, were most of its start-up. Heard, it is on within milliseconds.
        """
        self._started = True
        self._apply_air(self.controller.faults)
        if self._air is None:
            await self._switch_on()
        else:
            self._air.sleep_until_wanted(
                self.controller.config.address, lambda: self._spawn(self._switch_on())
            )

    async def _switch_on(self) -> None:
        if not self._started:  # stopped while dormant
            return
        await self.device.power_on()
        self._switched_on = True
        if not self.controller.faults.powered_off:
            await self._power_up()

    async def settle(self) -> None:
        """Wait until fault changes and pending indications have been carried out."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def stop(self) -> None:
        """Stop advertising, drop every link, release the controller's fault subscription."""
        self._unsubscribe()
        self._links.close_all()
        for task in list(self._tasks):
            task.cancel()
        if self._started:
            await self._go_silent()
            self._started = False

    # -- connections ----------------------------------------------------------------------
    def _on_connection(self, connection: Connection) -> None:
        if self.controller.faults.powered_off:
            self._spawn(self._disconnect(connection))
            return
        if not self._backoff.allowed(_peer(connection)):
            self.controller.link_dropped()
            self._spawn(self._disconnect(connection))
            self._spawn(self._keep_advertising())
            return
        self._sessions[connection] = self.controller.open_session()
        self._challenge_reads[connection] = (ReadOffsetTap.install(connection, self._challenge.handle), None)
        AttGuard.install(connection, self.device.gatt_server, lambda: self._links.request(connection))
        connection.on("disconnection", lambda _reason: self._on_disconnection(connection))
        self._links.opened(connection)
        # A connection stops advertising; a door serves several links and keeps advertising.
        self._spawn(self._keep_advertising())

    def _drop_link(self, connection: Connection, reason: DropReason) -> None:
        """The link guard's verdict: cut the link, count it, and make its peer wait."""
        logger.info("dropping link %s: %s", connection.peer_address, reason.value)
        self.controller.link_dropped()
        if reason is not DropReason.EVICTED:
            self._backoff.penalise(_peer(connection))
        self._spawn(self._disconnect(connection))

    def _on_disconnection(self, connection: Connection) -> None:
        self._links.closed(connection)
        self._receipt_cursor.pop(connection, None)
        self._maintenance_reports.pop(connection, None)
        self._results.pop(connection, None)
        self._challenge_reads.pop(connection, None)
        if (session := self._sessions.pop(connection, None)) is not None:
            self.controller.end_session(session)

    def _session(self, connection: Connection) -> Session:
        session = self._sessions.get(connection)
        if session is None:
            raise ATT_Error(ErrorCode.INSUFFICIENT_AUTHORIZATION)
        return session

    # -- characteristics ------------------------------------------------------------------
    def _read_challenge(self, connection: Connection) -> bytes:
        """A Read draws a fresh challenge; a Read Blob continues the value the Read began (SPEC §8)."""
        session = self._session(connection)
        tap, served = self._challenge_reads[connection]
        if tap.offset > 0:
            if served is None:
                raise ATT_Error(ErrorCode.INVALID_OFFSET)
            return served
        served = bytes(gatt.Challenge(self.controller.issue_challenge(session)))
        self._challenge_reads[connection] = (tap, served)
        return served

    async def _write_request(self, connection: Connection, value: bytes) -> None:
        session = self._session(connection)
        faults = self.controller.faults
        if faults.drop_mid_write:
            # The link dies before the door could act: nothing decided, no grant consumed.
            await self._disconnect(connection)
            return
        if faults.slow_ms:
            await asyncio.sleep(faults.slow_ms / 1000)
        if connection not in self._sessions:
            return  # the link went away while the door was slow: nothing decided
        attempt = self.controller.handle_unlock(bytes(value), session)
        if attempt is None:
            self._backoff.penalise(_peer(connection))
            if session.attempts > LINK_ATTEMPTS_MAX:  # this link has had its turns: free the slot
                self._links.closed(connection)
                self._drop_link(connection, DropReason.TOO_MANY_ATTEMPTS)
            raise ATT_Error(gatt.ATT_ERROR_RATE_LIMITED)
        if attempt.outcome is Outcome.UNLOCKED:
            self._backoff.forgive(_peer(connection))
        self._results[connection] = attempt.result
        # A result longer than one indication goes out empty: the app reads it instead (SPEC §8).
        fits = len(attempt.result) <= connection.att_mtu - 3
        indicated = attempt.result if fits else b""
        # Indicate after the write response has gone out, without holding the ATT handler.
        self._spawn(self.device.indicate_subscriber(connection, self._result, indicated))

    def _read_result(self, connection: Connection) -> bytes:
        self._session(connection)
        return self._results.get(connection, b"")

    def _read_receipts(self, connection: Connection) -> bytes:
        """As many stored receipts from the queried seq on as fit one attribute value."""
        self._receipts_session(connection)
        stored = self.controller.receipts(self._receipt_cursor.get(connection, 0), _RECEIPTS_PER_READ + 1)
        return bytes(gatt.ReceiptBatch.pack(stored))

    def _receipts_session(self, connection: Connection) -> Session:
        """Receipts tell when and how often a door opens: only for a connection with a valid grant."""
        session = self._session(connection)
        if not session.may_read_receipts:
            raise ATT_Error(ErrorCode.INSUFFICIENT_AUTHORIZATION)
        return session

    def _write_maintenance(self, connection: Connection, value: bytes) -> None:
        self._session(connection)
        try:
            bundle = MaintenanceBundle.from_bytes(bytes(value))
        except ProtocolError as err:
            raise ATT_Error(gatt.ATT_ERROR_MALFORMED) from err
        reasons = self.controller.apply_maintenance(bundle)
        self._maintenance_reports[connection] = bytes(MaintenanceReport(tuple(reasons)))

    def _read_maintenance(self, connection: Connection) -> bytes:
        self._session(connection)
        return self._maintenance_reports.get(connection, bytes(MaintenanceReport(())))

    def _write_receipt_cursor(self, connection: Connection, value: bytes) -> None:
        self._receipts_session(connection)
        try:
            self._receipt_cursor[connection] = gatt.ReceiptQuery.from_bytes(bytes(value)).from_seq
        except ProtocolError as err:
            raise ATT_Error(gatt.ATT_ERROR_MALFORMED) from err

    def _spawn(self, coroutine: Coroutine[object, object, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- faults ---------------------------------------------------------------------------
    def _on_faults(self, faults: DoorFaults) -> None:
        if not self._started:
            return
        self._apply_air(faults)
        if faults.powered_off and self._powered:
            self._spawn(self._go_silent())
        elif not faults.powered_off and not self._powered and self._switched_on:
            self._spawn(self._power_up())

    def _apply_air(self, faults: DoorFaults) -> None:
        if self._air is not None:
            address = self.controller.config.address
            self._air.set_rssi(address, None if faults.out_of_range else faults.rssi_dbm)

    async def _power_up(self) -> None:
        self._powered = True
        interval = self.controller.config.advertising_interval_ms
        await self.device.start_advertising(
            advertising_data=gatt.advertising_data(self.controller.config.door_id),
            scan_response_data=gatt.scan_response_data(),
            advertising_interval_min=interval,
            advertising_interval_max=interval,
            auto_restart=True,
        )

    async def _keep_advertising(self) -> None:
        """Advertise again while links are open (bumble only restarts after a disconnection)."""
        if not self._powered:
            return
        try:
            for advertising_set in list(self.device.extended_advertising_sets.values()):
                if not advertising_set.enabled:
                    await advertising_set.start()
            if self.device.legacy_advertiser is not None:
                enable = HCI_LE_Set_Advertising_Enable_Command(advertising_enable=1)
                await self.device.send_sync_command(enable)
        except Exception as err:  # a controller that cannot keep advertising still serves
            logger.debug("could not re-enable advertising: %s", err)

    async def _go_silent(self) -> None:
        self._powered = False
        if self.device.is_advertising:
            await self.device.stop_advertising()
        for connection in list(self._sessions):
            await self._disconnect(connection)

    async def _disconnect(self, connection: Connection) -> None:
        try:
            await connection.disconnect()
        except Exception as err:  # a link that is already gone is fine
            logger.debug("disconnect of %s failed: %s", connection, err)


def _peer(connection: Connection) -> str:
    return str(connection.peer_address)
