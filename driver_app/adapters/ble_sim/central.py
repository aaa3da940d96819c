"""The one bumble host per process that reaches the virtual radio, and where to find it.

Every scanner and client backend in a process shares one attachment (one emulated controller
on the radio side), the way every `BleakClient` on a laptop shares its one adapter. It is
created lazily inside the running loop on first use, and re-created if the loop changes
(tests) or the radio went away. Connects are serialised: one bumble central cannot have two
LE connections pending at once (the second fails with COMMAND_DISALLOWED and then hangs).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
from collections.abc import Callable

from bleak.exc import BleakBluetoothNotAvailableError, BleakBluetoothNotAvailableReason
from bumble import hci
from bumble.device import Advertisement, Device
from bumble.transport import open_transport
from bumble.transport.common import Transport

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


class _Registry:
    """The process-wide attachment; configured once, attached on first use."""

    def __init__(self) -> None:
        self.where: SimRadioAddress | None = None
        self.central: SimCentral | None = None
        self._attaching: dict[asyncio.AbstractEventLoop, asyncio.Lock] = {}

    def address(self) -> SimRadioAddress:
        if self.where is not None:
            return self.where
        if text := os.environ.get(ENV_VAR):
            return SimRadioAddress.parse(text)
        return SimRadioAddress()

    async def get(self) -> SimCentral:
        if self.central is not None and self.central.alive:
            return self.central
        loop = asyncio.get_running_loop()
        self._attaching = {lp: lk for lp, lk in self._attaching.items() if not lp.is_closed()}
        async with self._attaching.setdefault(loop, asyncio.Lock()):
            if self.central is None or not self.central.alive:
                self.central = await SimCentral.attach(self.address())
            return self.central


_registry = _Registry()


def configure_sim_radio(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
    """Point this process's emulated adapter at a virtual radio (takes effect on next attach)."""
    _registry.where = SimRadioAddress(host, port)


async def sim_central() -> SimCentral:
    """The process's attached host, attaching now if needed."""
    return await _registry.get()


async def detach_sim_radio() -> None:
    """Detach this process from the radio, e.g. on app exit; the next use re-attaches."""
    central, _registry.central = _registry.central, None
    if central is not None and asyncio.get_running_loop() is central.loop:
        await central.close()
