"""Ingest door receipts relayed by handhelds: verify, chain, store, audit; report gaps.

Receipts arrive out of order and more than once (several drivers relay for one door, outboxes
retry), so each one is linked against the neighbours already stored rather than against a single
head: a late receipt can fill a gap. Signatures are checked with the protocol's `verify_receipt`
and the door's registered public key. Re-sending a stored receipt is a harmless duplicate; a
different receipt for a stored sequence number, or one whose hash link does not match a stored
neighbour, is refused as `chain_broken` and not stored.

Whatever a relay could use to hide or forge door history also becomes a building alert with its
evidence (see `alerts`): a bad signature, a broken link or a fork (the offered receipt's bytes are
kept in the alert), a receipt quoting a grant the service never issued for that door, an unlock
with a revoked grant, and every door-sensor alert (outcome ALERT).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime

from mock_building.service.alerts import AlertBook
from mock_building.service.audit import AuditKind, AuditLog
from mock_building.service.db import Store
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


class ReceiptIngest:
    def __init__(self, store: Store, audit: AuditLog, alerts: AlertBook) -> None:
        self._store = store
        self._audit = audit
        self._alerts = alerts

    def upload(self, blobs: list[bytes], now: datetime, *, relayed_by: str | None = None) -> UploadReport:
        """`relayed_by` (the uploading driver's id) goes into alerts only as a building pseudonym."""
        decoded: list[tuple[int, bytes, Receipt]] = []
        results: list[ReceiptResult] = []
        for index, data in enumerate(blobs):
            try:
                decoded.append((index, data, decode_receipt(data)))
            except ProtocolError as err:
                results.append(ReceiptResult(index, "rejected", err.reason))
        # Oldest first, so a batch links to itself whatever order the handheld sent it in.
        decoded.sort(key=lambda item: (item[2].door_id, item[2].seq))
        doors: set[str] = set()
        with self._store.transaction():
            for index, data, receipt in decoded:
                results.append(self._ingest(index, data, receipt, now, relayed_by))
                doors.add(receipt.door_id)
            gaps = {door_id: self._gaps(door_id) for door_id in sorted(doors)}
            for door_id, ranges in gaps.items():
                self._alerts.note_gaps(door_id, ranges, now)
        results.sort(key=lambda r: r.index)
        return UploadReport(tuple(results), {door: ranges for door, ranges in gaps.items() if ranges})

    def _ingest(
        self, index: int, data: bytes, receipt: Receipt, now: datetime, relayed_by: str | None
    ) -> ReceiptResult:
        db = self._store.conn

        def result(status: str, reason: ReasonCode) -> ReceiptResult:
            return ReceiptResult(index, status, reason, receipt.door_id, receipt.seq)

        door = db.execute(
            "SELECT building_id, public_key FROM doors WHERE id = ?", (receipt.door_id,)
        ).fetchone()
        if door is None:
            return result("rejected", ReasonCode.UNKNOWN_DOOR)
        digest = receipt_digest(data)

        def refuse(reason: ReasonCode, kind: ReasonCode, **evidence: str | int | None) -> ReceiptResult:
            self._alert_receipt(kind, door["building_id"], receipt, data, digest, now, relayed_by, evidence)
            return result("rejected", reason)

        try:
            verify_receipt(data, bytes(door["public_key"]))
        except ProtocolError as err:
            return refuse(err.reason, ReasonCode.RECEIPT_BAD_SIGNATURE, refusal=err.reason.slug)
        stored = {
            row["seq"]: row
            for row in db.execute(
                "SELECT seq, digest, prev_digest FROM receipts WHERE door_id = ? AND seq BETWEEN ? AND ?",
                (receipt.door_id, receipt.seq - 1, receipt.seq + 1),
            )
        }
        same = stored.get(receipt.seq)
        if same is not None:
            if bytes(same["digest"]) == digest:
                return result("duplicate", ReasonCode.RECEIPT_DUPLICATE)
            stored_digest = bytes(same["digest"]).hex()
            return refuse(ReasonCode.CHAIN_BROKEN, ReasonCode.CHAIN_FORK, stored_digest=stored_digest)
        before, after = stored.get(receipt.seq - 1), stored.get(receipt.seq + 1)
        expected_prev = GENESIS_HASH if receipt.seq == 0 else (bytes(before["digest"]) if before else None)
        if expected_prev is not None and receipt.prev_hash != expected_prev:
            return refuse(ReasonCode.CHAIN_BROKEN, ReasonCode.CHAIN_BROKEN, expected_prev=expected_prev.hex())
        if after is not None and bytes(after["prev_digest"]) != digest:
            return refuse(
                ReasonCode.CHAIN_BROKEN,
                ReasonCode.CHAIN_BROKEN,
                next_prev_digest=bytes(after["prev_digest"]).hex(),
            )
        grant_id = receipt.grant_id.hex() if receipt.grant_id else None
        door_time = datetime.fromtimestamp(receipt.door_time, UTC)
        db.execute(
            "INSERT INTO receipts (door_id, seq, digest, prev_digest, grant_id, outcome, reason, door_time, raw,"
            " received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                receipt.door_id,
                receipt.seq,
                digest,
                receipt.prev_hash,
                grant_id,
                receipt.outcome.name.lower(),
                receipt.reason.slug,
                door_time.isoformat(),
                data,
                now.isoformat(),
            ),
        )
        grant = None
        if grant_id is not None:
            grant = db.execute(
                "SELECT driver_id, carrier_id, stop_id, revoked_at FROM grants WHERE id = ? AND door_id = ?",
                (grant_id, receipt.door_id),
            ).fetchone()
        self._audit_entry(receipt, door["building_id"], grant_id, grant, door_time)
        self._alert_stored(receipt, door["building_id"], grant, data, digest, now, relayed_by)
        return result("accepted", ReasonCode.OK)

    def _alert_stored(
        self,
        receipt: Receipt,
        building_id: str,
        grant: sqlite3.Row | None,
        data: bytes,
        digest: bytes,
        now: datetime,
        relayed_by: str | None,
    ) -> None:
        """Alerts about a genuine, well-chained receipt: what the door says happened is the finding."""
        if receipt.outcome is Outcome.ALERT:
            self._alert_receipt(receipt.reason, building_id, receipt, data, digest, now, relayed_by, {})
        if receipt.grant_id is not None and grant is None:
            # The door opened for a grant nobody here issued (a forged or foreign key): critical. A
            # refusal only quotes what the request claimed (SPEC §7): an attempt, worth a warning.
            self._alert_receipt(
                ReasonCode.UNKNOWN_GRANT,
                building_id,
                receipt,
                data,
                digest,
                now,
                relayed_by,
                {},
                severity=None if receipt.outcome is Outcome.UNLOCKED else AlertSeverity.WARNING,
            )
        elif grant is not None and grant["revoked_at"] is not None and receipt.outcome is Outcome.UNLOCKED:
            self._alert_receipt(
                ReasonCode.REVOKED_GRANT_USED,
                building_id,
                receipt,
                data,
                digest,
                now,
                relayed_by,
                {
                    "revoked_at": grant["revoked_at"],
                    "carrier": grant["carrier_id"],
                    "driver_ref": self._audit.driver_ref(building_id, grant["driver_id"]),
                },
            )

    def _alert_receipt(
        self,
        kind: ReasonCode,
        building_id: str,
        receipt: Receipt,
        data: bytes,
        digest: bytes,
        now: datetime,
        relayed_by: str | None,
        extra: dict[str, str | int | None],
        *,
        severity: AlertSeverity | None = None,
    ) -> None:
        grant_id = receipt.grant_id.hex() if receipt.grant_id else None
        self._alerts.raise_alert(
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
                "receipt": b64url_encode(data),
                "relayed_by": self._audit.driver_ref(building_id, relayed_by) if relayed_by else None,
                **extra,
            },
        )

    def _audit_entry(
        self,
        receipt: Receipt,
        building_id: str,
        grant_id: str | None,
        grant: sqlite3.Row | None,
        door_time: datetime,
    ) -> None:
        self._audit.record(
            at=door_time,
            kind=AuditKind.DOOR,
            outcome="door_" + receipt.outcome.name.lower(),
            reason=receipt.reason.slug,
            building_id=building_id,
            door_id=receipt.door_id,
            stop_id=grant["stop_id"] if grant else None,
            carrier_id=grant["carrier_id"] if grant else None,
            driver_id=grant["driver_id"] if grant else None,
            grant_id=grant_id,
        )

    def _gaps(self, door_id: str) -> tuple[tuple[int, int], ...]:
        """Missing sequence numbers between 0 and the newest stored receipt of the door."""
        seqs = [
            row[0]
            for row in self._store.conn.execute(
                "SELECT seq FROM receipts WHERE door_id = ? ORDER BY seq", (door_id,)
            )
        ]
        ranges, expected = [], 0
        for seq in seqs:
            if seq > expected:
                ranges.append((expected, seq - 1))
            expected = seq + 1
        return tuple(ranges)
