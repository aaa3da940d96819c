"""`VirtualRadio`: the emulated air that doors and attached driver apps share."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from bumble import hci
from bumble.controller import Controller
from bumble.device import Device

from mock_building.radio.air import (
    AirConditions,
    AirLink,
    CentralController,
    PeripheralController,
    address_key,
)
from mock_building.radio.attach import AttachServer
from mock_building.radio.errors import RadioError, RadioErrorReason
from mock_building.radio.geography import Position

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8751


class VirtualRadio:
    """One bumble `LocalLink` with door peripherals on it and a TCP port apps attach to.

    Create it inside the running event loop that will drive it (bumble schedules every PDU on
    that loop). Emulated radio conditions are per peripheral, as seen from the driver's phone:
    `set_rssi`, `set_powered`, `drop_connections` and `drop_after_packets` are the fault
    injection a door scenario needs.
    """

    def __init__(self) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            raise RadioError(
                RadioErrorReason.NO_RUNNING_LOOP,
                "create the VirtualRadio inside the event loop that will run it",
            ) from None
        # bumble logs every PDU at DEBUG/INFO; under a TUI that would flood the terminal.
        logging.getLogger("bumble").setLevel(logging.WARNING)
        self._link = AirLink()
        self._peripherals: dict[str, Controller] = {}
        self._server = AttachServer(self._link)
        self.phone_connect_lock = asyncio.Lock()
        """Phones (`add_phone`) connect one at a time: when two connect requests meet one
        advertising event, bumble's emulated central believes in a link the peripheral never made."""
        self._serving = False
        self._closed = False

    def add_peripheral(self, name: str, address: str, *, position: Position | None = None) -> Device:
        """A new peripheral on the air, not yet powered on, standing at `position` (None: heard
        by every handheld, wherever it is).

        The caller adds its GATT services, then `await device.power_on()` and starts
        advertising (see `mock_building.radio.start_advertising`).
        """
        self._check_open()
        key = address_key(address)
        if key in self._peripherals:
            raise RadioError(RadioErrorReason.DUPLICATE_ADDRESS, f"{key} is already on the air")
        controller = PeripheralController(
            f"door-{name}",
            link=self._link,
            public_address=hci.Address(address, hci.Address.PUBLIC_DEVICE_ADDRESS),
        )
        self._peripherals[key] = controller
        self._link.conditions(key)
        self._link.place(controller, position)
        return Device.with_hci(name, hci.Address(address), controller, controller)

    def add_place(self, name: str, position: Position) -> None:
        """Name a spot on the map; an attached handheld says it stands there (a building id) with
        the vendor command of `protocol.sim_air`."""
        self._link.add_place(name, position)

    def add_phone(self, name: str, address: str) -> Device:
        """A bare central on the air (a phone that speaks raw ATT), not yet powered on.

        Tests and benches use it to be the hostile phone the door must survive: many links at
        once, requests no app would send. Several phones may share the air, unlike the one app
        an attachment port serves.
        """
        self._check_open()
        public = hci.Address(address, hci.Address.PUBLIC_DEVICE_ADDRESS)
        controller = CentralController(f"phone-{name}", link=self._link, public_address=public)
        return Device.with_hci(name, hci.Address(address), controller, controller)

    async def serve(self, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> int:
        """Accept driver-app attachments (H4 over TCP); returns the bound port (0 picks one)."""
        self._check_open()
        if self._serving:
            raise RadioError(RadioErrorReason.ALREADY_SERVING, "the radio already serves a port")
        bound = await self._server.start(host, port)
        self._serving = True
        return bound

    @property
    def attached_apps(self) -> int:
        """How many driver apps are attached right now."""
        return len(self._server.attachments)

    async def wait_attached_apps(self, count: int) -> None:
        """Wait until exactly `count` driver apps are attached (detaching happens when the
        app's TCP connection closes, which can trail the app's own exit)."""
        while len(self._server.attachments) != count:
            self._server.changed.clear()
            await self._server.changed.wait()

    @property
    def handheld_positions(self) -> list[Position | None]:
        """Where each attached handheld stands (None: it never said), for the live view and tests."""
        controllers = [a.controller for a in self._server.attachments if a.controller is not None]
        return [self._link.position_of(c) for c in controllers]

    @property
    def parked_peripherals(self) -> int:
        """How many peripherals have parked their advertising because no listener can hear them."""
        return self._link.parked

    def conditions(self, address: str) -> AirConditions:
        """The current air conditions of one peripheral (read them; change them via methods)."""
        self._controller(address)
        return self._link.conditions(address)

    def set_rssi(self, address: str, dbm: int | None) -> None:
        """Set how loud a peripheral is heard; None takes it out of range (and cuts its links)."""
        controller = self._controller(address)
        self._link.conditions(address).rssi_dbm = dbm
        self._link.refresh(controller)
        if dbm is None:
            self.drop_connections(address)

    def sleep_until_wanted(self, address: str, wake: Callable[[], None]) -> None:
        """Leave a peripheral unpowered until a handheld in range scans for it; then `wake` is
        called (once) to power it on and advertise. See `AirLink.sleep_until_wanted`."""
        self._link.sleep_until_wanted(self._controller(address), wake)

    def set_powered(self, address: str, powered: bool) -> None:
        """Power a peripheral's radio off (silent, links cut) or back on."""
        controller = self._controller(address)
        self._link.conditions(address).powered = powered
        self._link.refresh(controller)
        if not powered:
            self.drop_connections(address)

    def drop_connections(self, address: str) -> int:
        """Cut every link of a peripheral now; returns how many were cut."""
        return self._link.sever(self._controller(address))

    def drop_after_packets(self, address: str, packets: int) -> None:
        """Cut a peripheral's links when `packets` more ACL packets have reached it.

        This is the "door drops the link in the middle of a write" fault: with a long write
        (prepare/execute), 0 cuts at the first fragment and 1 after the first has arrived.
        """
        self._controller(address)
        self._link.conditions(address).drop_after_packets = packets

    async def close(self) -> None:
        """Detach every app, silence every peripheral and stop listening."""
        if self._closed:
            return
        self._closed = True
        await self._server.close()
        for controller in self._peripherals.values():
            self._link.silence(controller)

    def _controller(self, address: str) -> Controller:
        try:
            return self._peripherals[address_key(address)]
        except KeyError:
            raise RadioError(
                RadioErrorReason.UNKNOWN_PERIPHERAL, f"no peripheral {address} on this radio"
            ) from None

    def _check_open(self) -> None:
        if self._closed:
            raise RadioError(RadioErrorReason.CLOSED, "the radio is closed")
