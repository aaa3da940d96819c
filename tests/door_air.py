"""A door on a virtual radio with raw phones around it: the hostile-phone tests' shared set-up."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mock_building.door.runner import RunningDoor, start_door
from mock_building.radio import VirtualRadio
from mock_building.radio.phone import RawPhone, RequestBuilder
from protocol import gatt
from tests.door_support import DOOR_ADDRESS, Issuer, door_config, fixed_key, unlock_request


@dataclass
class AirDoor:
    radio: VirtualRadio
    door: RunningDoor
    issuer: Issuer
    handheld: Ed25519PrivateKey

    def request_for(self, handheld: Ed25519PrivateKey | None = None) -> RequestBuilder:
        """A fresh grant each time, signed for whatever challenge the phone reads."""
        key = handheld or self.handheld
        grant = self.issuer.grant(key, now=int(time.time()))
        return lambda challenge: unlock_request(grant, key, challenge)

    async def phone(self, *, discover: bool = True, subscribe: bool = True) -> RawPhone:
        phone = RawPhone(self.radio)
        await phone.connect(DOOR_ADDRESS)
        if discover:
            await phone.discover()
            if subscribe:
                await phone.subscribe_results()
        return phone

    async def honest_unlock(self) -> gatt.UnlockResult:
        phone = await self.phone()
        try:
            return await phone.unlock(self.request_for())
        finally:
            await phone.disconnect()


@asynccontextmanager
async def air_door(tmp_path: Path, **config: object) -> AsyncIterator[AirDoor]:
    """A door (and its radio) for one test; `config` overrides DoorConfig fields."""
    radio = VirtualRadio()
    issuer = Issuer()
    cfg = door_config(tmp_path, issuer, **config)
    door = await start_door(cfg, radio.add_peripheral(cfg.name, cfg.address), air=radio)
    try:
        yield AirDoor(radio, door, issuer, fixed_key())
    finally:
        await door.stop()
        await radio.close()
