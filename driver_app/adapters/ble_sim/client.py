"""`BumbleClientBackend`: bleak's client contract over the emulated adapter."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, TypeVar

from bleak.args import SizedBuffer
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.exc import BleakDeviceNotFoundError, BleakError
from bumble import core, hci
from bumble.device import Connection, Peer

from driver_app.adapters.ble_sim.central import SimCentral, SimHandheld, default_handheld
from driver_app.adapters.ble_sim.errors import bleak_errors
from driver_app.adapters.ble_sim.gatt import discover_services

logger = logging.getLogger(__name__)

REQUESTED_MTU = 517
"""Ask for the largest ATT MTU: a 300-byte write then takes one request, not 17 prepares."""
DISCONNECT_TIMEOUT_S = 10.0

_T = TypeVar("_T")


class BumbleClientBackend(BaseBleakClient):
    """Pass as `BleakClient(device_or_address, backend=BumbleClientBackend)`.

    Like bleak's BlueZ backend, `disconnected_callback` fires on every disconnection (ours,
    the peer's, or the radio going away), once per connection.
    """

    handheld: ClassVar[SimHandheld | None] = None
    """The emulated phone this backend uses; None: the process's default one."""

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        disconnected_callback: Callable[[], None] | None,
        timeout: float,
        services: set[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout)
        del kwargs  # the OS-specific option dicts (bluez=, winrt=) do not apply here
        self._from_scan = isinstance(address_or_ble_device, BLEDevice)
        self._peer_address: hci.Address | None = None
        self._name: str | None = None
        if isinstance(address_or_ble_device, BLEDevice):
            self._name = address_or_ble_device.name
            if isinstance(address_or_ble_device.details, hci.Address):
                self._peer_address = address_or_ble_device.details
        self._only_services = services
        self._connection: Connection | None = None
        self._peer: Peer | None = None
        self._disconnected: asyncio.Future[None] | None = None
        self._forget_lost: Callable[[], None] | None = None
        self._subscribers: dict[int, Callable[[bytes], None]] = {}

    @property
    def name(self) -> str:
        return self._name or self.address

    @property
    def mtu_size(self) -> int:
        if self._peer is None:
            raise BleakError("Not connected")
        return self._peer.gatt_client.mtu

    @property
    def is_connected(self) -> bool:
        return self._disconnected is not None and not self._disconnected.done()

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        if self.is_connected:
            raise BleakError("Client is already connected")
        if pair:
            logger.info("pairing is not emulated; connecting without it")
        timeout = kwargs.get("timeout", self._timeout)
        target = self._target()
        central = await (self.handheld or default_handheld()).listening()
        async with central.connect_lock:
            try:
                with bleak_errors(f"connecting to {self.address}"):
                    connection = await central.device.connect(target, timeout=timeout)
            except TimeoutError as err:
                if self._from_scan:
                    raise
                # bleak's OS backends look an address up by scanning first and report a
                # device that never showed up as not found; the emulated connect is that scan.
                raise BleakDeviceNotFoundError(
                    self.address, f"Device with address {self.address} was not found."
                ) from err
        self._on_connected(central, connection)
        try:
            peer = Peer(connection)
            await self._guard(peer.request_mtu(REQUESTED_MTU), "MTU exchange")
            self._peer = peer
            self.services = await self._guard(
                discover_services(peer, self._only_services, lambda: peer.gatt_client.mtu - 3),
                "service discovery",
            )
        except BaseException:
            await asyncio.shield(self.disconnect())
            raise

    async def disconnect(self) -> None:
        connection, disconnected = self._connection, self._disconnected
        if connection is None or disconnected is None or disconnected.done():
            return
        try:
            with bleak_errors(f"disconnecting from {self.address}"):
                await asyncio.wait_for(connection.disconnect(), DISCONNECT_TIMEOUT_S)
        except (BleakError, TimeoutError):
            # The link may have gone down under us (the door cut it first); that is success.
            if not disconnected.done():
                raise

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError("pairing is not emulated (LobbyKey authenticates in the app layer)")

    async def unpair(self) -> None:
        raise NotImplementedError("pairing is not emulated (LobbyKey authenticates in the app layer)")

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        return bytearray(await self._guard(self._gatt().read_value(characteristic.obj), "read"))

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        return bytearray(await self._guard(self._gatt().read_value(descriptor.obj), "read"))

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: SizedBuffer, response: bool
    ) -> None:
        write = self._gatt().write_value(characteristic.obj, bytes(data), with_response=response)
        await self._guard(write, "write")

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data: SizedBuffer) -> None:
        write = self._gatt().write_value(descriptor.obj, bytes(data), with_response=True)
        await self._guard(write, "write")

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        def subscriber(value: bytes) -> None:
            callback(bytearray(value))

        # Notifications are preferred over indications when both exist, as bleak asks.
        subscribe = self._gatt().subscribe(characteristic.obj, subscriber, prefer_notify=True)
        await self._guard(subscribe, "subscribe")
        self._subscribers[characteristic.handle] = subscriber

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        subscriber = self._subscribers.pop(characteristic.handle, None)
        unsubscribe = self._gatt().unsubscribe(characteristic.obj, subscriber)
        await self._guard(unsubscribe, "unsubscribe")

    def _target(self) -> hci.Address:
        if self._peer_address is not None:
            return self._peer_address
        try:
            return hci.Address(self.address)
        except (ValueError, core.BaseBumbleError) as err:
            raise BleakDeviceNotFoundError(
                self.address, f"{self.address!r} is not a Bluetooth address"
            ) from err

    def _gatt(self) -> Peer:
        if self._peer is None or not self.is_connected:
            raise BleakError("Not connected")
        return self._peer

    def _on_connected(self, central: SimCentral, connection: Connection) -> None:
        self._connection = connection
        self._disconnected = asyncio.get_running_loop().create_future()
        connection.on(Connection.EVENT_DISCONNECTION, lambda reason: self._on_disconnected())
        self._forget_lost = central.on_lost(self._on_disconnected)

    def _on_disconnected(self) -> None:
        if self._disconnected is None or self._disconnected.done():
            return
        self._disconnected.set_result(None)
        if self._forget_lost is not None:
            self._forget_lost()
            self._forget_lost = None
        self._peer = None
        self.services = None
        self._subscribers.clear()
        if self._disconnected_callback is not None:
            self._disconnected_callback()

    async def _guard(self, operation: Awaitable[_T], what: str) -> _T:
        """Run a GATT operation, failing fast with `BleakError` if the link drops meanwhile.

        bumble cancels a pending ATT request when the link drops (which would surface as a
        bogus `CancelledError`) and would wait 30 s for a request sent after it dropped.
        """
        disconnected = self._disconnected
        task = asyncio.ensure_future(operation)
        if disconnected is None or disconnected.done():
            task.cancel()
            raise BleakError("Not connected")
        try:
            pending: set[asyncio.Future[Any]] = {task, disconnected}
            await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not task.done():
                task.cancel()
        if task.done() and not task.cancelled() and not disconnected.done():
            with bleak_errors(f"{what} on {self.address}"):
                return task.result()
        if task.done() and not task.cancelled() and task.exception() is None:
            return task.result()
        raise BleakError(f"{self.address} disconnected during {what}")
