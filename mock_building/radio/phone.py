"""`RawPhone`: a phone on the virtual air that speaks plain ATT to a door, hostile or honest.

It does what no app would (stay silent, write read-only attributes, open many links) so that
tests and `bench/door_abuse_bench.py` can attack a door the way a phone in a lobby could. Each
phone has its own controller and address, so any number of them hold links at the same time.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Callable, Iterator

from bumble import hci
from bumble.core import UUID
from bumble.device import Connection, Device, Peer
from bumble.gatt_client import CharacteristicProxy

from mock_building.radio.virtual_radio import VirtualRadio
from protocol import gatt

__all__ = ["RawPhone", "RequestBuilder", "phone_addresses"]

MTU = 517
RequestBuilder = Callable[[bytes], bytes]
"""Builds the unlock request for a challenge (the handheld's side of the proof)."""


def phone_addresses() -> Iterator[str]:
    """Distinct public addresses for phones, away from doors and attached apps."""
    for serial in itertools.count(1):
        yield f"F0:00:00:00:{serial >> 8 & 0xFF:02X}:{serial & 0xFF:02X}"


_ADDRESSES = phone_addresses()


class RawPhone:
    """One central; `connect` opens a link to a door, the other methods act on that link."""

    def __init__(self, radio: VirtualRadio, name: str = "phone", address: str | None = None) -> None:
        self.address = address or next(_ADDRESSES)
        self.device: Device = radio.add_phone(name, self.address)
        self._connect_lock = radio.phone_connect_lock
        self.connection: Connection | None = None
        self.peer: Peer | None = None
        self.disconnected = asyncio.Event()
        self.indications: asyncio.Queue[bytes] = asyncio.Queue()
        self._chars: dict[UUID, CharacteristicProxy[bytes]] = {}

    async def connect(self, door_address: str, *, timeout: float = 5.0) -> None:
        """Link up only (no MTU exchange, no discovery): what a silent phone does."""
        if not self.device.powered_on:
            await self.device.power_on()
        self.disconnected.clear()
        async with self._connect_lock:
            self.connection = await self.device.connect(hci.Address(door_address), timeout=timeout)
        self.connection.on("disconnection", lambda _reason: self.disconnected.set())
        self.peer = Peer(self.connection)

    async def discover(self) -> None:
        """MTU exchange and discovery of every characteristic (also the GAP ones)."""
        peer = self._peer()
        await peer.request_mtu(MTU)
        await peer.discover_services()
        for service in peer.services:
            await service.discover_characteristics()
            for characteristic in service.characteristics:
                self._chars[characteristic.uuid] = characteristic

    def characteristic(self, uuid: str | UUID) -> CharacteristicProxy[bytes]:
        return self._chars[UUID(uuid) if isinstance(uuid, str) else uuid]

    @property
    def characteristics(self) -> dict[UUID, CharacteristicProxy[bytes]]:
        return dict(self._chars)

    async def read(self, uuid: str | UUID) -> bytes:
        return bytes(await self._peer().read_value(self.characteristic(uuid)))

    async def write(self, uuid: str | UUID, value: bytes, *, response: bool = True) -> None:
        await self._peer().write_value(self.characteristic(uuid), value, with_response=response)

    async def subscribe_results(self) -> None:
        """Indications on Result go to `indications`."""
        await self._peer().subscribe(
            self.characteristic(gatt.RESULT_CHAR_UUID),
            lambda value: self.indications.put_nowait(bytes(value)),
            prefer_notify=False,
        )

    async def unlock(self, request_for: RequestBuilder, *, timeout: float = 5.0) -> gatt.UnlockResult:
        """The honest app's two round trips: read Challenge, write Unlock Request, await Result."""
        challenge = gatt.Challenge.from_bytes(await self.read(gatt.CHALLENGE_CHAR_UUID)).nonce
        await self.write(gatt.UNLOCK_CHAR_UUID, request_for(challenge))
        async with asyncio.timeout(timeout):
            indicated = await self.indications.get()
        if not indicated:
            indicated = await self.read(gatt.RESULT_CHAR_UUID)
        return gatt.UnlockResult.from_bytes(indicated)

    async def disconnect(self) -> None:
        if self.connection is not None and not self.disconnected.is_set():
            with contextlib.suppress(hci.HCI_Error):  # the door dropped it first
                await self.connection.disconnect()
        self.connection, self.peer = None, None
        self._chars.clear()

    def _peer(self) -> Peer:
        if self.peer is None:
            raise RuntimeError("connect first")
        return self.peer
