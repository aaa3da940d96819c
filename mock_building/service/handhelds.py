"""Handheld key registration: a grant's `cnf` is the driver's registered handheld key.

A driver may hold only a few live keys (one per handheld they carry): registering one more retires
the oldest, so one stolen access token cannot mint an unbounded number of grant-capable keys.
"""

from __future__ import annotations

import base64
from datetime import datetime

from mock_building.service.problems import ServiceProblem
from mock_building.service.revocations import Revocations
from mock_building.service.storage import Database, accounts
from protocol.errors import KeyFormatError
from protocol.keys import derive_key_id
from protocol.reasons import ReasonCode

__all__ = ["Handhelds", "key_id_text"]


def key_id_text(public_raw: bytes) -> str:
    """The handheld key id as sent over HTTP: base64url (no padding) of protocol's `derive_key_id`."""
    return base64.urlsafe_b64encode(derive_key_id(public_raw)).rstrip(b"=").decode()


class Handhelds:
    def __init__(self, database: Database, revocations: Revocations, *, max_live: int) -> None:
        if max_live < 1:
            raise ValueError("a driver needs at least one live handheld key")
        self._database = database
        self._revocations = revocations
        self.max_live = max_live

    async def register(self, driver_id: str, public_raw: bytes, now: datetime) -> str:
        """Idempotent for the same driver and key; a key already bound to someone else is refused.

        The driver's row is locked first, so registrations on several workers at once still leave
        at most `max_live` live keys: the oldest are retired in the same transaction.
        """
        try:
            key_id = key_id_text(public_raw)
        except KeyFormatError as err:
            # A weak key keeps its own code: the app can tell "regenerate the key" from a bad request.
            code = err.reason if err.reason is ReasonCode.WEAK_KEY else ReasonCode.INVALID_REQUEST
            raise ServiceProblem(code, "Not a usable Ed25519 public key", str(err)) from err
        async with self._database.transaction() as tx:
            await accounts.lock_driver(tx, driver_id)
            owner = await accounts.handheld_owner(tx, key_id)
            if owner is None:
                await accounts.add_handheld(tx, key_id, driver_id, public_raw, now.isoformat())
            elif owner.driver_id != driver_id:
                raise ServiceProblem(ReasonCode.CONFLICT, "Key registered to another driver")
            elif owner.revoked:
                raise ServiceProblem(ReasonCode.REVOKED, "Handheld revoked", "generate a new handheld key")
            for retired in (await accounts.live_handhelds(tx, driver_id))[self.max_live :]:
                reason = f"retired: more than {self.max_live} live handheld keys"
                await self._revocations.retire_handheld(tx, retired, reason, now)
        return key_id
