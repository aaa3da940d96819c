"""The bumble host of an emulated handheld that reaches the virtual radio, and where to find it.

A `SimHandheld` is one phone: its scanner and client backends share one attachment (one emulated
controller on the radio side), the way every `BleakClient` on a laptop shares its one adapter. It
is created lazily inside the running loop on first use, and re-created if the loop changes
(tests) or the radio went away. Connects are serialised: one bumble central cannot have two LE
connections pending at once (the second fails with COMMAND_DISALLOWED and then hangs).

A process has a default handheld (what `BumbleScannerBackend` and `BumbleClientBackend` use);
a fleet of simulated drivers in one process gives each driver its own (`SimHandheld.backends`).
Before it listens, a handheld tells the radio where its driver stands (`move_to`, a building id)
with the vendor command of `protocol.sim_air`, so it hears that building's doors and not the city's.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from bleak.exc import BleakBluetoothNotAvailableError, BleakBluetoothNotAvailableReason, BleakError
from bumble import hci
from bumble.device import Advertisement, Device
from bumble.transport import open_transport
from bumble.transport.common import Transport

from protocol.sim_air import PLACE_HANDHELD_OPCODE, STATUS_PLACED, encode_place

if TYPE_CHECKING:
    from driver_app.adapters.ble_sim.client import BumbleClientBackend
    from driver_app.adapters.ble_sim.scanner import BumbleScannerBackend

logger = logging.getLogger(__name__)

ENV_VAR = "LOBBYKEY_SIM_RADIO"
"""`HOST:PORT` of the virtual radio, when `configure_sim_radio` was not called."""
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8751

AdvertisementListener = Callable[[Advertisement], None]


@dataclasses.dataclass(frozen=True)
class SimRadioAddress:
    """Where the virtual radio accepts attachments."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT

    @classmethod
    def parse(cls, text: str) -> SimRadioAddress:
        host, sep, port = text.strip().rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{ENV_VAR} must look like HOST:PORT, got {text!r}")
        return cls(host, int(port))


class SimCentral:
    """An attached bumble host: the process's emulated Bluetooth adapter."""

    def __init__(self, transport: Transport, device: Device) -> None:
        self.device = device
        self.loop = asyncio.get_running_loop()
        self.connect_lock = asyncio.Lock()
        self._transport = transport
        self._listeners: set[AdvertisementListener] = set()
        self._scan_lock = asyncio.Lock()
        self._lost_callbacks: set[Callable[[], None]] = set()
        self._closed = False
        device.on(Device.EVENT_ADVERTISEMENT, self._dispatch)
        terminated: asyncio.Future[None] = transport.source.terminated
        terminated.add_done_callback(lambda _: self._on_lost())

    @classmethod
    async def attach(cls, where: SimRadioAddress) -> SimCentral:
        # bumble logs every packet below WARNING; under the TUI nothing may hit the terminal.
        logging.getLogger("bumble").setLevel(logging.WARNING)
        try:
            transport = await open_transport(f"tcp-client:{where.host}:{where.port}")
        except OSError as err:
            raise BleakBluetoothNotAvailableError(
                f"no virtual radio at {where.host}:{where.port} ({err})",
                BleakBluetoothNotAvailableReason.NO_BLUETOOTH,
            ) from err
        device = Device.with_hci(
            "lobbykey-driver", _random_static_address(), transport.source, transport.sink
        )
        central = cls(transport, device)
        await device.power_on()
        return central

    async def place(self, place: str) -> None:
        """Tell the radio this handheld stands at `place`; BleakError if the radio knows no such place."""
        command = hci.HCI_Command(op_code=PLACE_HANDHELD_OPCODE, parameters=encode_place(place))
        response = await self.device.host.send_command(command)  # type: ignore[call-overload]
        # ^ bumble types send_command for its registered commands only; this one is vendor-specific.
        status = bytes(response.return_parameters.data or b"\xff")[0]
        if status != STATUS_PLACED:
            raise BleakError(f"the virtual radio knows no place {place!r} (status {status:#04x})")

    @property
    def alive(self) -> bool:
        return not self._closed and asyncio.get_running_loop() is self.loop

    def on_lost(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call `callback` if the radio goes away; returns the unregister function."""
        self._lost_callbacks.add(callback)
        return lambda: self._lost_callbacks.discard(callback)

    async def start_scanning(self, listener: AdvertisementListener) -> None:
        """Deliver advertisements to `listener`; the radio scans while anyone listens."""
        async with self._scan_lock:
            if not self._listeners:
                await self.device.start_scanning(active=True, filter_duplicates=False)
            self._listeners.add(listener)

    async def stop_scanning(self, listener: AdvertisementListener) -> None:
        async with self._scan_lock:
            self._listeners.discard(listener)
            if not self._listeners and not self._closed and self.device.is_scanning:
                await self.device.stop_scanning()

    async def close(self) -> None:
        """Detach from the radio (the radio then cuts this host's links)."""
        if not self._closed:
            await self._transport.close()
            self._on_lost()

    def _dispatch(self, advertisement: Advertisement) -> None:
        for listener in list(self._listeners):
            listener(advertisement)

    def _on_lost(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._listeners.clear()
        logger.info("detached from the virtual radio")
        for callback in list(self._lost_callbacks):
            callback()


def _random_static_address() -> hci.Address:
    """A fresh random static address, so several apps on one radio never collide."""
    raw = bytearray(os.urandom(6))
    raw[0] |= 0xC0  # the two top bits of a static random address are 1
    return hci.Address(":".join(f"{b:02X}" for b in raw))


class SimHandheld:
    """One emulated phone: where its radio is, its attachment (made on first use), where it stands."""

    def __init__(self, where: SimRadioAddress | None = None) -> None:
        self.where = where
        self.central: SimCentral | None = None
        self._place: str | None = None
        self._placed: tuple[SimCentral, str] | None = None
        self._attaching: dict[asyncio.AbstractEventLoop, asyncio.Lock] = {}

    def address(self) -> SimRadioAddress:
        if self.where is not None:
            return self.where
        if text := os.environ.get(ENV_VAR):
            return SimRadioAddress.parse(text)
        return SimRadioAddress()

    def move_to(self, place: str | None) -> None:
        """Say where the driver stands (a building id); the radio hears it before the next scan or
        connect. None: nowhere in particular (the radio lets it hear every door)."""
        self._place = place

    async def get(self) -> SimCentral:
        if self.central is not None and self.central.alive:
            return self.central
        loop = asyncio.get_running_loop()
        self._attaching = {lp: lk for lp, lk in self._attaching.items() if not lp.is_closed()}
        async with self._attaching.setdefault(loop, asyncio.Lock()):
            if self.central is None or not self.central.alive:
                self.central = await SimCentral.attach(self.address())
            return self.central

    async def listening(self) -> SimCentral:
        """The attached host, placed where the driver stands: what scanning and connecting use."""
        central = await self.get()
        if self._place is not None and self._placed != (central, self._place):
            await central.place(self._place)
            self._placed = (central, self._place)
        return central

    async def detach(self) -> None:
        """Detach from the radio, e.g. on app exit; the next use re-attaches."""
        central, self.central = self.central, None
        if central is not None and asyncio.get_running_loop() is central.loop:
            await central.close()

    def backends(self) -> tuple[type[BumbleScannerBackend], type[BumbleClientBackend]]:
        """bleak backend classes bound to this handheld (bleak takes classes, not instances)."""
        from driver_app.adapters.ble_sim.client import BumbleClientBackend
        from driver_app.adapters.ble_sim.scanner import BumbleScannerBackend

        bound = {"handheld": self}
        return (
            type("HandheldScannerBackend", (BumbleScannerBackend,), bound),
            type("HandheldClientBackend", (BumbleClientBackend,), bound),
        )


_default = SimHandheld()


def configure_sim_radio(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
    """Point this process's emulated adapter at a virtual radio (takes effect on next attach)."""
    _default.where = SimRadioAddress(host, port)


def default_handheld() -> SimHandheld:
    """The process's own handheld, used by backends not bound to another one."""
    return _default


async def detach_sim_radio() -> None:
    """Detach this process from the radio, e.g. on app exit; the next use re-attaches."""
    await _default.detach()
