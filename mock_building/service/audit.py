"""Audit events: every gate decision, receipt and delivery, with no more personal data than needed.

Drivers appear only as a pseudonym that is stable within one building and unlinkable across
buildings (HMAC of the driver id keyed per building), so a manager can tell "the same driver
came twice" without learning who it was or where else they went.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from enum import StrEnum
from functools import lru_cache

from mock_building.service.storage import Database, Executor, audit
from protocol.api import AuditEvent as ApiAuditEvent

__all__ = ["NUMBER_AT_MOST", "AuditKind", "AuditLog", "pseudonym"]


class AuditKind(StrEnum):
    GRANT = "grant"
    DOOR = "door"
    DELIVERY = "delivery"
    REVOCATION = "revocation"
    ALERT = "alert"


def pseudonym(secret: bytes, building_id: str | None, driver_id: str) -> str:
    """The driver as one building knows them: stable there, unlinkable to other buildings."""
    key = hmac.new(secret, (building_id or "").encode(), hashlib.sha256).digest()
    return "drv-" + hmac.new(key, driver_id.encode(), hashlib.sha256).hexdigest()[:12]


NUMBER_AT_MOST = 2000
"""Events one reading transaction numbers at most (~5 ms on SQLite, which runs on the event loop)."""
_REFS_MAX = 4096
# A grant needs a pseudonym twice (its subject and its audit event), at two HMACs each; it depends on
# the secret and the two ids only, nothing another worker could change, so it is kept once computed.
_kept_pseudonym = lru_cache(maxsize=_REFS_MAX)(pseudonym)


class AuditLog:
    def __init__(self, database: Database, secret: bytes) -> None:
        self._database = database
        self._secret = secret

    def driver_ref(self, building_id: str | None, driver_id: str) -> str:
        """`pseudonym` under this service's secret (the last `_REFS_MAX` kept)."""
        return _kept_pseudonym(self._secret, building_id, driver_id)

    async def record(
        self,
        tx: Executor,
        *,
        at: datetime,
        kind: AuditKind,
        outcome: str,
        reason: str,
        building_id: str | None = None,
        door_id: str | None = None,
        stop_id: str | None = None,
        carrier_id: str | None = None,
        driver_id: str | None = None,
        grant_id: str | None = None,
    ) -> None:
        """Add an event on the caller's transaction `tx` (or the database), so it is kept exactly when
        the decision it describes is."""
        await audit.add_event(
            tx,
            audit.NewAuditEvent(
                at=at.isoformat(),
                kind=str(kind),
                outcome=outcome,
                reason=reason,
                building_id=building_id,
                door_id=door_id,
                stop_id=stop_id,
                carrier_id=carrier_id,
                driver_ref=self.driver_ref(building_id, driver_id) if driver_id else None,
                grant_id=grant_id,
            ),
        )

    async def building_feed(
        self, building_id: str, *, after_id: int = 0, limit: int = 100
    ) -> list[tuple[int, ApiAuditEvent]]:
        """(cursor, event) for one building's door-level events after the cursor `after_id`.

        Events that name a door: "who entered which door when, for which stop". Every door event
        and alert is shown, with or without a driver (a door event naming no known grant is exactly
        what the manager must see); grant refusals before a door was resolved stay in the admin's table.
        """
        while True:  # numbered in bounded steps: a long unread backlog never stops the service at once
            numbered = 0
            if await audit.feed_behind(self._database, building_id):
                async with self._database.transaction() as tx:
                    numbered = await audit.number_feed(tx, building_id, at_most=NUMBER_AT_MOST)
            rows = await audit.door_feed(
                self._database,
                building_id,
                (str(AuditKind.DOOR), str(AuditKind.ALERT)),
                after=after_id,
                limit=limit,
            )
            if len(rows) >= limit or numbered < NUMBER_AT_MOST:  # a full page, or nothing left unnumbered
                break
        return [
            (
                row.feed_seq,
                ApiAuditEvent(
                    time=datetime.fromisoformat(row.at),
                    building_id=row.building_id,
                    door_id=row.door_id,
                    stop_id=row.stop_id,
                    carrier=row.carrier_id,
                    outcome=row.outcome,
                    reason=row.reason,
                    driver_ref=row.driver_ref,
                ),
            )
            for row in rows
        ]
