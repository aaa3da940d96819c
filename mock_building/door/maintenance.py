"""What phones teach a door: clock, revocations, trust-store changes and receipt acks (SPEC section 14).

The state lives in the door's own SQLite file next to the receipt log, and every change is staged
in the same transaction as the receipt that records it, so a power cut either keeps both or
neither. Refused statements change nothing and write nothing: a hostile phone cannot wear out
the store with them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from mock_building.door.config import DoorConfig
from protocol.gatt import MAX_TRUSTED_KIDS
from protocol.grant import MAX_LIFETIME, GrantClaims
from protocol.keys import TrustedIssuerKey, TrustStore, derive_key_id
from protocol.maintenance import Revocation, Statement, StatementKind, check_statement
from protocol.reasons import ReasonCode

__all__ = ["MAINTENANCE_HEADROOM", "DoorUpkeep"]

MAINTENANCE_HEADROOM = 16
"""Receipts beyond `receipt_capacity` kept for applied statements, so an ack always gets through."""

Append = Callable[[int, ReasonCode], None]
"""Appends the MAINTAINED receipt of the statement with this counter and the door's answer (and commits)."""


class DoorUpkeep:
    """The door's durable maintenance state and the rules for changing it."""

    def __init__(self, config: DoorConfig, db: sqlite3.Connection) -> None:
        """`db` is the door store's connection, whose schema has the upkeep tables."""
        self._config = config
        self._db = db
        self._authorities = {a.kid: a for a in config.authorities}

    # -- reading the state ----------------------------------------------------------------
    def _value(self, name: str) -> int | None:
        row = self._db.execute("SELECT value FROM upkeep WHERE name = ?", (name,)).fetchone()
        return None if row is None else int(row[0])

    def _set(self, name: str, value: int) -> None:
        self._db.execute("INSERT OR REPLACE INTO upkeep (name, value) VALUES (?, ?)", (name, value))

    def now(self, raw: float) -> float:
        """The door clock: the device clock corrected by time statements, never below the iat floor."""
        return max(raw + (self._value("offset") or 0), float(self._value("floor") or 0))

    @property
    def acked_seq(self) -> int | None:
        return self._value("acked")

    def trust(self, base: TrustStore) -> TrustStore:
        """The provisioned issuer keys plus added ones, minus retired ones."""
        keys = dict(base.by_kid)
        for kid, issuer, public_key, retired in self._db.execute(
            "SELECT kid, issuer, public_key, retired FROM trust"
        ):
            if retired:
                keys.pop(bytes(kid), None)
            else:
                keys[bytes(kid)] = TrustedIssuerKey(
                    kid=bytes(kid), issuer=issuer, public_key=bytes(public_key)
                )
        return TrustStore(keys)

    def revoked(self, claims: GrantClaims, now: int) -> bool:
        """RFC 9770-style list: the grant id, its handheld key id, or an epoch after its iat."""
        if claims.issued_at < (self._value("epoch") or 0):
            return True
        handheld = derive_key_id(claims.confirmation_key)
        row = self._db.execute(
            "SELECT 1 FROM revoked WHERE (kind = 'grant' AND id = ? AND until >= ?)"
            " OR (kind = 'handheld' AND id = ?)",
            (claims.grant_id, now, handheld),
        ).fetchone()
        return row is not None

    def unacked(self, head: int | None) -> int:
        """Receipts the service has not acknowledged yet."""
        if head is None:
            return 0
        acked = self.acked_seq
        return head + 1 if acked is None else head - acked

    def receipts_full(self, head: int | None) -> bool:
        return self.unacked(head) >= self._config.receipt_capacity

    # -- changing it ----------------------------------------------------------------------
    def raise_floor(self, issued_at: int) -> None:
        """Staged: committed with the receipt of the attempt that verified this iat."""
        if issued_at > (self._value("floor") or 0):
            self._set("floor", issued_at)

    def apply(
        self,
        statements: tuple[bytes, ...],
        *,
        raw_now: float,
        head: Callable[[], int | None],
        append: Append,
        prune: Callable[[int], None],
    ) -> list[ReasonCode]:
        """Check and apply each statement in order; each decided one is committed with its receipt.

        An authentic statement refused for its content (a clock step, a trust change) still uses
        up its counter and gets a receipt with that reason, so the service learns the answer.
        """
        reasons: list[ReasonCode] = []
        for data in statements:
            check = check_statement(
                data, self._authorities, door_id=self._config.door_id, last_counter=self._value("counter")
            )
            reason = check.reason
            if check.statement is not None:
                if self.unacked(head()) >= self._config.receipt_capacity + MAINTENANCE_HEADROOM:
                    reason = ReasonCode.RECEIPT_STORE_FULL
                    self._db.rollback()
                else:
                    reason = self._stage(check.statement, raw_now, head(), prune)
                    if reason is not ReasonCode.OK:
                        self._db.rollback()  # nothing of a refused statement stays but its counter
                    self._set("counter", check.statement.counter)
                    try:
                        append(check.statement.counter, reason)
                    except BaseException:
                        self._db.rollback()
                        raise
            reasons.append(reason)
        return reasons

    def _stage(
        self, statement: Statement, raw_now: float, head: int | None, prune: Callable[[int], None]
    ) -> ReasonCode:
        body, now = statement.body, self.now(raw_now)
        if statement.kind is StatementKind.TIME:
            assert isinstance(body, int)
            if body < now - self._config.leeway_s:
                return ReasonCode.CLOCK_STEP_REFUSED
            self._set("offset", int(body - raw_now))
        elif statement.kind is StatementKind.REVOCATION:
            assert isinstance(body, Revocation)
            until = int(now) + MAX_LIFETIME + self._config.leeway_s
            self._db.executemany(
                "INSERT OR REPLACE INTO revoked (kind, id, until) VALUES (?, ?, ?)",
                [("grant", g, until) for g in body.grant_ids]
                + [("handheld", k, None) for k in body.handheld_kids],
            )
            self._db.execute("DELETE FROM revoked WHERE kind = 'grant' AND until < ?", (int(now),))
            if body.epoch is not None and body.epoch > (self._value("epoch") or 0):
                self._set("epoch", body.epoch)
        elif statement.kind is StatementKind.RECEIPT_ACK:
            assert isinstance(body, int)
            if head is not None and head > 0:
                acked = max(min(body, head - 1), self.acked_seq if self.acked_seq is not None else -1)
                if acked >= 0:
                    self._set("acked", acked)
                    prune(acked)
        else:
            return self._stage_trust(statement)
        return ReasonCode.OK

    def _stage_trust(self, statement: Statement) -> ReasonCode:
        base = self._config.trusted_keys
        current = self.trust(base)
        body = statement.body
        if statement.kind is StatementKind.TRUST_ADD:
            assert isinstance(body, TrustedIssuerKey)
            existing = current.get(body.kid)
            if (existing is not None and existing != body) or len(current.by_kid) >= MAX_TRUSTED_KIDS:
                return ReasonCode.TRUST_CHANGE_REFUSED
            row = (body.kid, body.issuer, body.public_key, 0)
        else:
            assert isinstance(body, bytes)
            existing = current.get(body)
            if existing is None or len(current.by_kid) == 1:
                return ReasonCode.TRUST_CHANGE_REFUSED
            row = (existing.kid, existing.issuer, existing.public_key, 1)
        self._db.execute(
            "INSERT OR REPLACE INTO trust (kid, issuer, public_key, retired) VALUES (?, ?, ?, ?)", row
        )
        return ReasonCode.OK
