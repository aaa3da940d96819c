"""Ingest door receipts relayed by handhelds: verify, chain, store, audit; report gaps.

Receipts arrive out of order and more than once (several drivers relay for one door, outboxes
retry), so each one is linked against the neighbours already stored rather than against a single
head: a late receipt can fill a gap. What each door's chain holds is kept in its head row and gap
table (`storage.receipts`), so an upload costs its batch, never the door's whole history. Signatures are checked with the protocol's `verify_receipt`
and the door's registered public key. Re-sending a stored receipt is a harmless duplicate; a
different receipt for a stored sequence number, or one whose hash link does not match a stored
neighbour, is refused as `chain_broken` and not stored.

Whatever a relay could use to hide or forge door history also becomes a building alert with its
evidence (see `alerts`): a bad signature, a broken link or a fork (the offered receipt's bytes are
kept in the alert), a receipt quoting a grant the service never issued for that door, an unlock
with a revoked grant, and every door-sensor alert (outcome ALERT).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import groupby

from mock_building.service.alerts import AlertBook
from mock_building.service.audit import AuditKind, AuditLog
from mock_building.service.storage import Database, Executor, receipts
from protocol.api import b64url_encode
from protocol.api_building import AlertSeverity
from protocol.errors import ProtocolError
from protocol.reasons import Outcome, ReasonCode
from protocol.receipt import (
    GENESIS_HASH,
    Receipt,
    decode_receipt,
    receipt_digest,
    verify_receipt,
)

__all__ = ["ReceiptIngest", "ReceiptResult", "UploadReport"]


@dataclass(frozen=True)
class ReceiptResult:
    index: int
    status: str  # "accepted" | "duplicate" | "rejected"
    reason: ReasonCode
    door_id: str | None = None
    seq: int | None = None


@dataclass(frozen=True)
class UploadReport:
    results: tuple[ReceiptResult, ...]
    gaps: dict[str, tuple[tuple[int, int], ...]]  # door id -> inclusive missing (first, last) ranges


@dataclass(frozen=True)
class _Offered:
    """One decoded receipt of an upload, with where it was in the request."""

    index: int
    data: bytes
    receipt: Receipt
    digest: bytes

    def result(self, status: str, reason: ReasonCode) -> ReceiptResult:
        return ReceiptResult(self.index, status, reason, self.receipt.door_id, self.receipt.seq)


class ReceiptIngest:
    def __init__(self, database: Database, audit: AuditLog, alerts: AlertBook) -> None:
        self._database = database
        self._audit = audit
        self._alerts = alerts

    async def upload(
        self, blobs: list[bytes], now: datetime, *, relayed_by: str | None = None
    ) -> UploadReport:
        """`relayed_by` (the uploading driver's id) goes into alerts only as a building pseudonym."""
        offered: list[_Offered] = []
        results: list[ReceiptResult] = []
        for index, data in enumerate(blobs):
            try:
                offered.append(_Offered(index, data, decode_receipt(data), receipt_digest(data)))
            except ProtocolError as err:
                results.append(ReceiptResult(index, "rejected", err.reason))
        # Doors in a fixed order (their head rows are locked in it), each door's receipts oldest
        # first, so a batch links to itself whatever order the handheld sent it in.
        offered.sort(key=lambda item: (item.receipt.door_id, item.receipt.seq))
        gaps: dict[str, tuple[tuple[int, int], ...]] = {}
        async with self._database.transaction() as tx:
            for door_id, batch in groupby(offered, key=lambda item: item.receipt.door_id):
                gaps[door_id] = await self._door_batch(tx, door_id, list(batch), now, relayed_by, results)
        results.sort(key=lambda r: r.index)
        return UploadReport(tuple(results), {door: ranges for door, ranges in gaps.items() if ranges})

    async def _door_batch(
        self,
        tx: Executor,
        door_id: str,
        batch: list[_Offered],
        now: datetime,
        relayed_by: str | None,
        results: list[ReceiptResult],
    ) -> tuple[tuple[int, int], ...]:
        """Ingest one door's receipts (oldest first) under its head row's lock; the door's gaps after."""
        door = await receipts.door_key(tx, door_id)
        if door is None:
            results.extend(item.result("rejected", ReasonCode.UNKNOWN_DOOR) for item in batch)
            return ()
        head = start = await receipts.lock_head(tx, door_id)
        for item in batch:
            result, head = await self._ingest(tx, item, door, head, now, relayed_by)
            results.append(result)
        if head != start:
            await receipts.save_head(tx, door_id, head)
        return await receipts.gaps_of(tx, door_id)

    async def _ingest(
        self,
        tx: Executor,
        item: _Offered,
        door: receipts.DoorKey,
        head: receipts.ReceiptHead,
        now: datetime,
        relayed_by: str | None,
    ) -> tuple[ReceiptResult, receipts.ReceiptHead]:
        receipt, data, digest = item.receipt, item.data, item.digest

        async def refuse(reason: ReasonCode, kind: ReasonCode, **evidence: str | int | None) -> ReceiptResult:
            await self._alert_receipt(tx, kind, door.building_id, item, now, relayed_by, evidence)
            return item.result("rejected", reason)

        try:
            verify_receipt(data, door.public_key)
        except ProtocolError as err:
            return await refuse(err.reason, ReasonCode.RECEIPT_BAD_SIGNATURE, refusal=err.reason.slug), head
        seq = receipt.seq
        same = after = None
        if seq > head.top_seq:
            # Nothing stored at or after it: only the newest stored receipt can be its predecessor.
            before = head.top_digest if seq == head.top_seq + 1 else None
        else:
            stored = await receipts.neighbours(tx, receipt.door_id, seq)
            same, after = stored.get(seq), stored.get(seq + 1)
            before = stored[seq - 1].digest if seq - 1 in stored else None
        if same is not None:
            if same.digest == digest:
                return item.result("duplicate", ReasonCode.RECEIPT_DUPLICATE), head
            return await refuse(
                ReasonCode.CHAIN_BROKEN, ReasonCode.CHAIN_FORK, stored_digest=same.digest.hex()
            ), head
        expected_prev = GENESIS_HASH if seq == 0 else before
        if expected_prev is not None and receipt.prev_hash != expected_prev:
            return await refuse(
                ReasonCode.CHAIN_BROKEN, ReasonCode.CHAIN_BROKEN, expected_prev=expected_prev.hex()
            ), head
        if after is not None and after.prev_digest != digest:
            return await refuse(
                ReasonCode.CHAIN_BROKEN, ReasonCode.CHAIN_BROKEN, next_prev_digest=after.prev_digest.hex()
            ), head
        grant_id = receipt.grant_id.hex() if receipt.grant_id else None
        door_time = datetime.fromtimestamp(receipt.door_time, UTC)
        head = await receipts.add_receipt(
            tx,
            receipts.NewReceipt(
                door_id=receipt.door_id,
                seq=seq,
                digest=digest,
                prev_digest=receipt.prev_hash,
                grant_id=grant_id,
                outcome=receipt.outcome.name.lower(),
                reason=receipt.reason.slug,
                door_time=door_time.isoformat(),
                raw=data,
                received_at=now.isoformat(),
                statement=receipt.statement,
            ),
            head,
        )
        grant = None if grant_id is None else await receipts.quoted_grant(tx, grant_id, receipt.door_id)
        await self._audit.record(
            tx,
            at=door_time,
            kind=AuditKind.DOOR,
            outcome="door_" + receipt.outcome.name.lower(),
            reason=receipt.reason.slug,
            building_id=door.building_id,
            door_id=receipt.door_id,
            stop_id=grant.stop_id if grant else None,
            carrier_id=grant.carrier_id if grant else None,
            driver_id=grant.driver_id if grant else None,
            grant_id=grant_id,
        )
        await self._alert_stored(tx, item, door.building_id, grant, now, relayed_by)
        return item.result("accepted", ReasonCode.OK), head

    async def _alert_stored(
        self,
        tx: Executor,
        item: _Offered,
        building_id: str,
        grant: receipts.QuotedGrant | None,
        now: datetime,
        relayed_by: str | None,
    ) -> None:
        """Alerts about a genuine, well-chained receipt: what the door says happened is the finding."""
        receipt = item.receipt
        if receipt.outcome is Outcome.ALERT:
            await self._alert_receipt(tx, receipt.reason, building_id, item, now, relayed_by, {})
        if receipt.grant_id is not None and grant is None:
            # The door opened for a grant nobody here issued (a forged or foreign key): critical. A
            # refusal only quotes what the request claimed (SPEC §7): an attempt, worth a warning.
            await self._alert_receipt(
                tx,
                ReasonCode.UNKNOWN_GRANT,
                building_id,
                item,
                now,
                relayed_by,
                {},
                severity=None if receipt.outcome is Outcome.UNLOCKED else AlertSeverity.WARNING,
            )
        elif grant is not None and grant.revoked_at is not None and receipt.outcome is Outcome.UNLOCKED:
            await self._alert_receipt(
                tx,
                ReasonCode.REVOKED_GRANT_USED,
                building_id,
                item,
                now,
                relayed_by,
                {
                    "revoked_at": grant.revoked_at,
                    "carrier": grant.carrier_id,
                    "driver_ref": self._audit.driver_ref(building_id, grant.driver_id),
                },
            )

    async def _alert_receipt(
        self,
        tx: Executor,
        kind: ReasonCode,
        building_id: str,
        item: _Offered,
        now: datetime,
        relayed_by: str | None,
        extra: dict[str, str | int | None],
        *,
        severity: AlertSeverity | None = None,
    ) -> None:
        receipt, digest = item.receipt, item.digest
        grant_id = receipt.grant_id.hex() if receipt.grant_id else None
        await self._alerts.raise_alert(
            tx,
            kind,
            building_id=building_id,
            door_id=receipt.door_id,
            grant_id=grant_id,
            now=now,
            severity=severity,
            dedup=f"{receipt.door_id}:{receipt.seq}:{digest.hex()}",
            event_time=datetime.fromtimestamp(receipt.door_time, UTC),
            evidence={
                "door_id": receipt.door_id,
                "seq": receipt.seq,
                "outcome": receipt.outcome.name.lower(),
                "reason": receipt.reason.slug,
                "grant_id": grant_id,
                "digest": digest.hex(),
                "receipt": b64url_encode(item.data),
                "relayed_by": self._audit.driver_ref(building_id, relayed_by) if relayed_by else None,
                **extra,
            },
        )
