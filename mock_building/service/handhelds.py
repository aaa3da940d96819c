"""Handheld key registration: a grant's `cnf` is the driver's registered handheld key.

A driver may hold only a few live keys (one per handheld they carry): registering one more retires
the oldest, so one stolen access token cannot mint an unbounded number of grant-capable keys.
"""

from __future__ import annotations

import base64
from datetime import datetime

from mock_building.service.db import Store
from mock_building.service.problems import ServiceProblem
from mock_building.service.revocations import Revocations
from protocol.errors import KeyFormatError
from protocol.keys import derive_key_id
from protocol.reasons import ReasonCode

__all__ = ["Handhelds", "key_id_text"]


def key_id_text(public_raw: bytes) -> str:
    """The handheld key id as sent over HTTP: base64url (no padding) of protocol's `derive_key_id`."""
    return base64.urlsafe_b64encode(derive_key_id(public_raw)).rstrip(b"=").decode()


class Handhelds:
    def __init__(self, store: Store, revocations: Revocations, *, max_live: int) -> None:
        if max_live < 1:
            raise ValueError("a driver needs at least one live handheld key")
        self._store = store
        self._revocations = revocations
        self.max_live = max_live

    def register(self, driver_id: str, public_raw: bytes, now: datetime) -> str:
        """Idempotent for the same driver and key; a key already bound to someone else is refused."""
        try:
            key_id = key_id_text(public_raw)
        except KeyFormatError as err:
            # A weak key keeps its own code: the app can tell "regenerate the key" from a bad request.
            code = err.reason if err.reason is ReasonCode.WEAK_KEY else ReasonCode.INVALID_REQUEST
            raise ServiceProblem(code, "Not a usable Ed25519 public key", str(err)) from err
        with self._store.transaction() as db:
            row = db.execute(
                "SELECT driver_id, revoked_at FROM handhelds WHERE key_id = ?", (key_id,)
            ).fetchone()
            if row is None:
                db.execute(
                    "INSERT INTO handhelds (key_id, driver_id, public_key, registered_at) VALUES (?, ?, ?, ?)",
                    (key_id, driver_id, public_raw, now.isoformat()),
                )
            elif row["driver_id"] != driver_id:
                raise ServiceProblem(ReasonCode.CONFLICT, "Key registered to another driver")
            elif row["revoked_at"] is not None:
                raise ServiceProblem(ReasonCode.REVOKED, "Handheld revoked", "generate a new handheld key")
            live = [
                r[0]
                for r in db.execute(
                    "SELECT key_id FROM handhelds WHERE driver_id = ? AND revoked_at IS NULL"
                    " ORDER BY registered_at DESC, rowid DESC",
                    (driver_id,),
                )
            ]
        for retired in live[self.max_live :]:
            self._revocations.handheld(retired, f"retired: more than {self.max_live} live handheld keys", now)
        return key_id
