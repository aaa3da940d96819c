"""Revoking drivers, handheld keys and grants (admin).

A revoked driver loses every session and cannot sign in; a revoked handheld key gets no more
grants; a revoked grant is marked so later deliveries and receipts quoting it stand out in the
audit. Doors are offline, so a grant already handed out stays usable at the door until it
expires: that is why grants live 120 s by default.
"""

from __future__ import annotations

from datetime import datetime

from mock_building.service.audit import AuditKind, AuditLog
from mock_building.service.problems import ServiceProblem
from mock_building.service.storage import Database, Executor, accounts
from mock_building.service.storage import revocations as store
from protocol.reasons import ReasonCode

__all__ = ["Revocations"]


class Revocations:
    def __init__(self, database: Database, audit: AuditLog) -> None:
        self._database = database
        self._audit = audit

    async def driver(self, driver_id: str, reason: str, now: datetime) -> None:
        async with self._database.transaction() as tx:
            carrier = await store.revoke_driver(tx, driver_id, now.isoformat())
            if carrier is None:
                raise ServiceProblem(ReasonCode.NOT_FOUND, "Unknown driver")
            await accounts.delete_sessions(tx, driver_id)
            await self._log(
                tx,
                target_kind="driver",
                target=driver_id,
                reason=reason,
                now=now,
                carrier=carrier,
                driver=driver_id,
            )

    async def handheld(self, key_id: str, reason: str, now: datetime) -> None:
        async with self._database.transaction() as tx:
            await self.retire_handheld(tx, key_id, reason, now)

    async def retire_handheld(self, tx: Executor, key_id: str, reason: str, now: datetime) -> None:
        """Revoke a handheld key inside the caller's transaction (registration retires the oldest)."""
        revoked = await store.revoke_handheld(tx, key_id, now.isoformat())
        if revoked is None:
            raise ServiceProblem(ReasonCode.NOT_FOUND, "Unknown handheld key")
        await self._log(
            tx,
            target_kind="handheld",
            target=key_id,
            reason=reason,
            now=now,
            carrier=revoked.carrier_id,
            driver=revoked.driver_id,
        )

    async def grant(self, grant_id: str, reason: str, now: datetime) -> None:
        async with self._database.transaction() as tx:
            revoked = await store.revoke_grant(tx, grant_id, now.isoformat())
            if revoked is None:
                raise ServiceProblem(ReasonCode.NOT_FOUND, "Unknown grant")
            await self._log(
                tx,
                target_kind="grant",
                target=grant_id,
                reason=reason,
                now=now,
                carrier=revoked.carrier_id,
                driver=revoked.driver_id,
                building=revoked.building_id,
                door=revoked.door_id,
                stop=revoked.stop_id,
            )

    async def _log(
        self,
        tx: Executor,
        *,
        target_kind: str,
        target: str,
        reason: str,
        now: datetime,
        carrier: str,
        driver: str,
        building: str | None = None,
        door: str | None = None,
        stop: str | None = None,
    ) -> None:
        await store.log_revocation(tx, now.isoformat(), target_kind, target, reason)
        await self._audit.record(
            tx,
            at=now,
            kind=AuditKind.REVOCATION,
            outcome=f"{target_kind}_revoked",
            reason=ReasonCode.REVOKED.slug,
            building_id=building,
            door_id=door,
            stop_id=stop,
            carrier_id=carrier,
            driver_id=driver,
            grant_id=target if target_kind == "grant" else None,
        )
