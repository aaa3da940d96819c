"""The service's side of door maintenance through phones (SPEC section 14).

Doors are offline, so what they must learn waits here as signed statements, one counter per
door: time (signed when a phone fetches it, so it is fresh), revocations (turned into statements
lazily, the first time a phone asks for the door after the revocation), trust-store changes
(signed by the building owner's key) and receipt acks. A statement stops being handed out once a
relayed receipt shows the door applied it or a later one.
"""

from __future__ import annotations

import base64
import sqlite3
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cwt.cose_key_interface import COSEKeyInterface

from mock_building.service.db import Store
from mock_building.service.gate import CarrierSigner
from mock_building.service.problems import ServiceProblem
from protocol.api import DoorUpkeep, b64url_decode
from protocol.keys import (
    TrustedIssuerKey,
    derive_key_id,
    load_private_key,
    private_key_bytes,
    public_key_bytes,
)
from protocol.maintenance import (
    MAX_REVOKED_IDS,
    Body,
    MaintenanceBundle,
    Revocation,
    Statement,
    StatementKind,
    sign_statement,
)
from protocol.reasons import ReasonCode
from protocol.receipt import decode_receipt
from protocol.seal import seal, seal_key

__all__ = ["ACK_EVERY", "UpkeepDesk", "UpkeepKeys"]

ACK_EVERY = 32
"""Receipts the service holds beyond the door's last ack before it queues a new ack."""


@dataclass(frozen=True)
class UpkeepKeys:
    """The maintenance keys the service signs with (mock: derived from the scenario seed)."""

    service: Ed25519PrivateKey
    owners: Mapping[str, Ed25519PrivateKey]
    """Building id -> the building owner's key (trust-store changes)."""
    door_seals: Mapping[str, bytes] = field(default_factory=dict, repr=False)
    """Door id -> the secret grants and statements are sealed with for it (SPEC section 15)."""


def _kid(key: Ed25519PrivateKey) -> bytes:
    return derive_key_id(public_key_bytes(key))


class UpkeepDesk:
    """Queues, signs and hands out statements; `signers` is the grant gate's (rotation changes it)."""

    def __init__(
        self,
        store: Store,
        keys: UpkeepKeys,
        signers: MutableMapping[str, CarrierSigner],
        *,
        ack_every: int = ACK_EVERY,
    ) -> None:
        self._store = store
        self._keys = keys
        self._signers = signers
        self._ack_every = ack_every
        self._seals: dict[str, COSEKeyInterface] = {
            door: seal_key(raw) for door, raw in keys.door_seals.items()
        }
        for row in store.conn.execute("SELECT carrier_id, kid, private_key FROM carrier_keys"):
            signers[row["carrier_id"]] = CarrierSigner(
                row["carrier_id"], row["kid"].encode("ascii"), load_private_key(bytes(row["private_key"]))
            )

    # -- what phones fetch ----------------------------------------------------------------
    def pending(self, door_id: str, now: datetime) -> DoorUpkeep:
        """The statements a phone should relay to `door_id` now, at most one bundle's worth."""
        with self._store.transaction() as db:
            building_id = self._building_of(db, door_id)
            self._queue_revocations(db, door_id, now)
            through = _receipts_through(db, door_id)
            self._queue_ack(db, door_id, through, now)
            applied = _applied_counter(db, door_id)
            rows = db.execute(
                "SELECT counter, kind, raw FROM door_statements WHERE door_id = ? AND counter > ?"
                " ORDER BY counter",
                (door_id, -1 if applied is None else applied),
            ).fetchall()
        statements = [
            bytes(row["raw"]) if row["raw"] is not None
            else self._sign(door_id, building_id, row["counter"], StatementKind.TIME, int(now.timestamp()))
            for row in rows
        ]  # fmt: skip
        return DoorUpkeep(
            door_id=door_id,
            statements=MaintenanceBundle.pack(statements).statements,
            receipts_through=through,
        )

    def seal_grant(self, door_id: str, grant: bytes) -> bytes:
        """The grant as it travels over the air: sealed for its door, if the door has a seal key."""
        return self._sealed(door_id, grant)

    # -- what the admin (CLI) asks for ----------------------------------------------------
    def set_time(self, door_id: str, now: datetime) -> None:
        """Queue a time statement; it is signed with the service clock when a phone fetches it."""
        with self._store.transaction() as db:
            self._building_of(db, door_id)
            self._insert(db, door_id, StatementKind.TIME, None, now)

    def accept_carrier(self, building_id: str, carrier_id: str, now: datetime) -> None:
        """The building accepts `carrier_id`: grants are issued, its doors learn the key (owner-signed)."""
        signer = self._signer(carrier_id)
        entry = TrustedIssuerKey(
            kid=signer.kid, issuer=carrier_id, public_key=public_key_bytes(signer.private_key)
        )
        with self._store.transaction() as db:
            self._check_building(db, building_id)
            db.execute(
                "INSERT OR IGNORE INTO building_carriers (building_id, carrier_id) VALUES (?, ?)",
                (building_id, carrier_id),
            )
            self._to_doors(db, building_id, StatementKind.TRUST_ADD, entry, now)

    def drop_carrier(self, building_id: str, carrier_id: str, now: datetime) -> None:
        """No more grants for `carrier_id` here, and its key is retired at every door of the building."""
        signer = self._signer(carrier_id)
        with self._store.transaction() as db:
            self._check_building(db, building_id)
            db.execute(
                "DELETE FROM building_carriers WHERE building_id = ? AND carrier_id = ?",
                (building_id, carrier_id),
            )
            self._to_doors(db, building_id, StatementKind.TRUST_RETIRE, signer.kid, now)

    def revoke_before(self, building_id: str, now: datetime) -> None:
        """Every grant issued before `now` stops opening the building's doors (an epoch, RFC 9770 style)."""
        with self._store.transaction() as db:
            self._check_building(db, building_id)
            epoch = Revocation(epoch=int(now.timestamp()))
            self._to_doors(db, building_id, StatementKind.REVOCATION, epoch, now)

    def rotate_key(self, carrier_id: str, now: datetime) -> bytes:
        """A new grant key for `carrier_id`: added at its doors, the old one retired; returns the new kid."""
        old = self._signer(carrier_id)
        key = Ed25519PrivateKey.generate()
        kid = base64.urlsafe_b64encode(_kid(key)).rstrip(b"=")
        new = CarrierSigner(carrier_id, kid, key)
        entry = TrustedIssuerKey(kid=kid, issuer=carrier_id, public_key=public_key_bytes(key))
        with self._store.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO carrier_keys (carrier_id, kid, private_key, created_at)"
                " VALUES (?, ?, ?, ?)",
                (carrier_id, kid.decode("ascii"), private_key_bytes(key), now.isoformat()),
            )
            db.execute(
                "UPDATE carriers SET kid = ?, public_key = ? WHERE id = ?",
                (kid.decode("ascii"), public_key_bytes(key), carrier_id),
            )
            buildings = [
                r[0]
                for r in db.execute(
                    "SELECT building_id FROM building_carriers WHERE carrier_id = ? ORDER BY building_id",
                    (carrier_id,),
                )
            ]
            for building_id in buildings:
                self._to_doors(db, building_id, StatementKind.TRUST_ADD, entry, now)
                self._to_doors(db, building_id, StatementKind.TRUST_RETIRE, old.kid, now)
        self._signers[carrier_id] = new
        return kid

    # -- internals ------------------------------------------------------------------------
    def _signer(self, carrier_id: str) -> CarrierSigner:
        signer = self._signers.get(carrier_id)
        if signer is None:
            raise ServiceProblem(ReasonCode.NOT_FOUND, "Unknown carrier", f"no carrier {carrier_id!r}")
        return signer

    @staticmethod
    def _check_building(db: sqlite3.Connection, building_id: str) -> None:
        if db.execute("SELECT 1 FROM buildings WHERE id = ?", (building_id,)).fetchone() is None:
            raise ServiceProblem(ReasonCode.NOT_FOUND, "Unknown building", f"no building {building_id!r}")

    @staticmethod
    def _building_of(db: sqlite3.Connection, door_id: str) -> str:
        row = db.execute("SELECT building_id FROM doors WHERE id = ?", (door_id,)).fetchone()
        if row is None:
            raise ServiceProblem(ReasonCode.NOT_FOUND, "Unknown door", f"no door {door_id!r}")
        return str(row[0])

    def _to_doors(
        self, db: sqlite3.Connection, building_id: str, kind: StatementKind, body: Body, now: datetime
    ) -> None:
        for (door_id,) in db.execute(
            "SELECT id FROM doors WHERE building_id = ? ORDER BY id", (building_id,)
        ).fetchall():
            self._insert(db, door_id, kind, body, now)

    def _insert(
        self, db: sqlite3.Connection, door_id: str, kind: StatementKind, body: Body | None, now: datetime
    ) -> None:
        """Sign (unless a time statement, signed on fetch) and queue under the door's next counter."""
        counter = int(
            db.execute(
                "SELECT COALESCE(MAX(counter), 0) + 1 FROM door_statements WHERE door_id = ?", (door_id,)
            ).fetchone()[0]
        )
        raw = (
            None if body is None else self._sign(door_id, self._building_of(db, door_id), counter, kind, body)
        )
        value = body if isinstance(body, int) else None
        db.execute(
            "INSERT INTO door_statements (door_id, counter, kind, value, raw, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (door_id, counter, int(kind), value, raw, now.isoformat()),
        )

    def _sign(self, door_id: str, building_id: str, counter: int, kind: StatementKind, body: Body) -> bytes:
        owner = kind in (StatementKind.TRUST_ADD, StatementKind.TRUST_RETIRE)
        key = self._keys.owners[building_id] if owner else self._keys.service
        return self._sealed(door_id, sign_statement(Statement(door_id, counter, kind, body), key, _kid(key)))

    def _sealed(self, door_id: str, data: bytes) -> bytes:
        key = self._seals.get(door_id)
        return data if key is None else seal(data, key)

    def _queue_revocations(self, db: sqlite3.Connection, door_id: str, now: datetime) -> None:
        sent = "SELECT target_id FROM door_revocations_sent WHERE door_id = ? AND target_kind = ?"
        grants = [
            row["id"] for row in db.execute(
                # `sent` is the constant subquery above; values are parameters
                "SELECT id, expires_at FROM grants"  # noqa: S608
                f" WHERE door_id = ? AND revoked_at IS NOT NULL AND id NOT IN ({sent})",
                (door_id, door_id, "grant"),
            ) if datetime.fromisoformat(row["expires_at"]) > now
        ]  # fmt: skip
        handhelds = [
            row["key_id"] for row in db.execute(
                # same: the constant subquery, values as parameters
                f"SELECT key_id FROM handhelds WHERE revoked_at IS NOT NULL AND key_id NOT IN ({sent})",  # noqa: S608
                (door_id, "handheld"),
            )
        ]  # fmt: skip
        for kind, ids, raw in (("grant", grants, [bytes.fromhex(g) for g in grants]),
                               ("handheld", handhelds, [b64url_decode(k) for k in handhelds])):  # fmt: skip
            for start in range(0, len(raw), MAX_REVOKED_IDS):
                chunk = tuple(raw[start : start + MAX_REVOKED_IDS])
                body = Revocation(grant_ids=chunk) if kind == "grant" else Revocation(handheld_kids=chunk)
                self._insert(db, door_id, StatementKind.REVOCATION, body, now)
            db.executemany(
                "INSERT INTO door_revocations_sent (door_id, target_kind, target_id) VALUES (?, ?, ?)",
                [(door_id, kind, target) for target in ids],
            )

    def _queue_ack(self, db: sqlite3.Connection, door_id: str, through: int | None, now: datetime) -> None:
        if through is None:
            return
        last = db.execute(
            "SELECT MAX(value) FROM door_statements WHERE door_id = ? AND kind = ?",
            (door_id, int(StatementKind.RECEIPT_ACK)),
        ).fetchone()[0]
        if through - (-1 if last is None else int(last)) >= self._ack_every:
            self._insert(db, door_id, StatementKind.RECEIPT_ACK, through, now)


def _receipts_through(db: sqlite3.Connection, door_id: str) -> int | None:
    """The highest seq such that every receipt of the door up to it is stored here."""
    if db.execute("SELECT 1 FROM receipts WHERE door_id = ? AND seq = 0", (door_id,)).fetchone() is None:
        return None
    row = db.execute(
        "SELECT MIN(r.seq) FROM receipts r WHERE r.door_id = ? AND NOT EXISTS"
        " (SELECT 1 FROM receipts n WHERE n.door_id = r.door_id AND n.seq = r.seq + 1)",
        (door_id,),
    ).fetchone()
    return int(row[0])


def _applied_counter(db: sqlite3.Connection, door_id: str) -> int | None:
    """The newest statement counter a relayed receipt shows the door applied."""
    row = db.execute(
        "SELECT raw FROM receipts WHERE door_id = ? AND outcome = 'maintained' ORDER BY seq DESC LIMIT 1",
        (door_id,),
    ).fetchone()
    return None if row is None else decode_receipt(bytes(row["raw"])).statement
