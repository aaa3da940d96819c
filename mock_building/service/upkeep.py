"""The service's side of door maintenance through phones (SPEC section 14).

Doors are offline, so what they must learn waits here as signed statements, one counter per
door: time (signed when a phone fetches it, so it is fresh), revocations (turned into statements
lazily, the first time a phone asks for the door after the revocation), trust-store changes
(signed by the building owner's key) and receipt acks. A statement stops being handed out once a
relayed receipt shows the door applied it or a later one.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cwt.cose_key_interface import COSEKeyInterface

from mock_building.service.problems import ServiceProblem
from mock_building.service.signers import CarrierSigner, CarrierSigners
from mock_building.service.storage import Database, Executor
from mock_building.service.storage import upkeep as store
from protocol.api import DoorUpkeep, b64url_decode
from protocol.keys import (
    TrustedIssuerKey,
    derive_key_id,
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
        database: Database,
        keys: UpkeepKeys,
        signers: CarrierSigners,
        *,
        ack_every: int = ACK_EVERY,
    ) -> None:
        self._database = database
        self._keys = keys
        self._signers = signers
        self._ack_every = ack_every
        self._seals: dict[str, COSEKeyInterface] = {
            door: seal_key(raw) for door, raw in keys.door_seals.items()
        }

    # -- what phones fetch ----------------------------------------------------------------
    async def pending(self, door_id: str, now: datetime) -> DoorUpkeep:
        """The statements a phone should relay to `door_id` now, at most one bundle's worth.

        A fetch rides on every grant, so it reads the door's state in one statement and opens a
        transaction only when something must be queued; the door's row is locked then, and what is
        due is read again under the lock (another worker may have just queued it). The statements
        themselves are read only when the door has some it has not applied, or some were just queued.
        """
        ack = int(StatementKind.RECEIPT_ACK)
        state = await store.door_state(self._database, door_id, now.isoformat(), ack)
        if state is None:
            raise _unknown_door(door_id)
        through = state.receipts_through
        queuing = state.revocations_unsent or self._ack_due(through, state.last_ack)
        if queuing:
            async with self._database.transaction() as tx:
                await store.lock_door(tx, door_id)
                await self._queue_due(tx, door_id, through, now)
        applied = state.applied_statement
        fresh = queuing or (state.last_counter is not None and state.last_counter > applied)
        rows = await store.statements_after(self._database, door_id, applied) if fresh else []
        statements = [
            row.raw if row.raw is not None
            else self._sign(door_id, state.building_id, row.counter, StatementKind.TIME, int(now.timestamp()))
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
    async def set_time(self, door_id: str, now: datetime) -> None:
        """Queue a time statement; it is signed with the service clock when a phone fetches it."""
        async with self._database.transaction() as tx:
            await self._insert(tx, door_id, StatementKind.TIME, None, now)

    async def accept_carrier(self, building_id: str, carrier_id: str, now: datetime) -> None:
        """The building accepts `carrier_id`: grants are issued, its doors learn the key (owner-signed)."""
        async with self._database.transaction() as tx:
            signer = await self._signer(tx, carrier_id)
            entry = TrustedIssuerKey(
                kid=signer.kid, issuer=carrier_id, public_key=public_key_bytes(signer.private_key)
            )
            await _check_building(tx, building_id)
            await store.accept_carrier(tx, building_id, carrier_id)
            await self._to_doors(tx, building_id, StatementKind.TRUST_ADD, entry, now)

    async def drop_carrier(self, building_id: str, carrier_id: str, now: datetime) -> None:
        """No more grants for `carrier_id` here, and its key is retired at every door of the building."""
        async with self._database.transaction() as tx:
            signer = await self._signer(tx, carrier_id)
            await _check_building(tx, building_id)
            await store.drop_carrier(tx, building_id, carrier_id)
            await self._to_doors(tx, building_id, StatementKind.TRUST_RETIRE, signer.kid, now)

    async def revoke_before(self, building_id: str, now: datetime) -> None:
        """Every grant issued before `now` stops opening the building's doors (an epoch, RFC 9770 style)."""
        async with self._database.transaction() as tx:
            await _check_building(tx, building_id)
            epoch = Revocation(epoch=int(now.timestamp()))
            await self._to_doors(tx, building_id, StatementKind.REVOCATION, epoch, now)

    async def rotate_key(self, carrier_id: str, now: datetime) -> bytes:
        """A new grant key for `carrier_id`: added at its doors, the old one retired; returns the new kid.

        The carrier's row is locked first and the key retired is the stored one, so two rotations
        (on any workers) retire each key in turn.
        """
        key = Ed25519PrivateKey.generate()
        kid = base64.urlsafe_b64encode(_kid(key)).rstrip(b"=")
        entry = TrustedIssuerKey(kid=kid, issuer=carrier_id, public_key=public_key_bytes(key))
        async with self._database.transaction() as tx:
            old_kid = await store.lock_carrier(tx, carrier_id)
            if old_kid is None:
                raise _unknown_carrier(carrier_id)
            await store.save_carrier_key(
                tx,
                store.CarrierKey(carrier_id, kid.decode("ascii"), private_key_bytes(key)),
                public_key_bytes(key),
                now.isoformat(),
            )
            for building_id in await store.carrier_buildings(tx, carrier_id):
                await self._to_doors(tx, building_id, StatementKind.TRUST_ADD, entry, now)
                await self._to_doors(
                    tx, building_id, StatementKind.TRUST_RETIRE, old_kid.encode("ascii"), now
                )
        self._signers.replace(CarrierSigner(carrier_id, kid, key))
        return kid

    # -- internals ------------------------------------------------------------------------
    async def _signer(self, db: Executor, carrier_id: str) -> CarrierSigner:
        signer = await self._signers.current(db, carrier_id)
        if signer is None:
            raise _unknown_carrier(carrier_id)
        return signer

    async def _to_doors(
        self, tx: Executor, building_id: str, kind: StatementKind, body: Body, now: datetime
    ) -> None:
        for door_id in await store.doors_in(tx, building_id):
            await self._insert(tx, door_id, kind, body, now)

    async def _insert(
        self, tx: Executor, door_id: str, kind: StatementKind, body: Body | None, now: datetime
    ) -> None:
        """Sign (unless a time statement, signed on fetch) and queue under the door's next counter."""
        building_id = await store.lock_door(tx, door_id)  # the counter is read and used under the lock
        if building_id is None:
            raise _unknown_door(door_id)
        counter = await store.next_counter(tx, door_id)
        raw = None if body is None else self._sign(door_id, building_id, counter, kind, body)
        value = body if isinstance(body, int) else None
        await store.add_statement(tx, door_id, counter, int(kind), value, raw, now.isoformat())

    def _sign(self, door_id: str, building_id: str, counter: int, kind: StatementKind, body: Body) -> bytes:
        owner = kind in (StatementKind.TRUST_ADD, StatementKind.TRUST_RETIRE)
        key = self._keys.owners[building_id] if owner else self._keys.service
        return self._sealed(door_id, sign_statement(Statement(door_id, counter, kind, body), key, _kid(key)))

    def _sealed(self, door_id: str, data: bytes) -> bytes:
        key = self._seals.get(door_id)
        return data if key is None else seal(data, key)

    def _ack_due(self, through: int | None, last_ack: int | None) -> bool:
        return through is not None and through - (-1 if last_ack is None else last_ack) >= self._ack_every

    async def _queue_due(self, tx: Executor, door_id: str, through: int | None, now: datetime) -> None:
        """Queue the revocations the door has yet to learn of, then an ack if one is due (door locked)."""
        grants = await store.unsent_revoked_grants(tx, door_id, now.isoformat())
        handhelds = await store.unsent_revoked_handhelds(tx, door_id)
        for target_kind, ids, raw in (
            ("grant", grants, [bytes.fromhex(g) for g in grants]),
            ("handheld", handhelds, [b64url_decode(k) for k in handhelds]),
        ):
            for start in range(0, len(raw), MAX_REVOKED_IDS):
                chunk = tuple(raw[start : start + MAX_REVOKED_IDS])
                body = (
                    Revocation(grant_ids=chunk) if target_kind == "grant" else Revocation(handheld_kids=chunk)
                )
                await self._insert(tx, door_id, StatementKind.REVOCATION, body, now)
            await store.mark_revocations_sent(tx, door_id, target_kind, ids)
        if self._ack_due(through, await store.last_ack(tx, door_id, int(StatementKind.RECEIPT_ACK))):
            await self._insert(tx, door_id, StatementKind.RECEIPT_ACK, through, now)


async def _check_building(tx: Executor, building_id: str) -> None:
    if not await store.building_exists(tx, building_id):
        raise ServiceProblem(ReasonCode.NOT_FOUND, "Unknown building", f"no building {building_id!r}")


def _unknown_door(door_id: str) -> ServiceProblem:
    return ServiceProblem(ReasonCode.NOT_FOUND, "Unknown door", f"no door {door_id!r}")


def _unknown_carrier(carrier_id: str) -> ServiceProblem:
    return ServiceProblem(ReasonCode.NOT_FOUND, "Unknown carrier", f"no carrier {carrier_id!r}")
