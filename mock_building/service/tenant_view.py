"""The tenant view: which carrier came to which door of a building when, and how sure the service is.

Tenants were never told who enters their lobby. This view names carriers only (no driver, no
pseudonym, no stop or unit), one line per door receipt, each with its verification status. Receipts
the service refused (bad signature, broken or forked chain) are listed too, from the alerts that
kept their evidence, so a forged entry shows up as forged instead of vanishing.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from mock_building.service.problems import ServiceProblem
from mock_building.service.storage import Database, audit, receipts
from protocol.api_building import TenantEntry, Verification
from protocol.reasons import ReasonCode

__all__ = ["tenant_entries"]

_REFUSED = {
    ReasonCode.RECEIPT_BAD_SIGNATURE.slug: Verification.BAD_SIGNATURE,
    ReasonCode.CHAIN_BROKEN.slug: Verification.CHAIN_BROKEN,
    ReasonCode.CHAIN_FORK.slug: Verification.CHAIN_FORK,
}


def _utc_text(when: datetime) -> str:
    """Stored times are UTC text: compare like with like (a naive time is taken as UTC)."""
    try:
        return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
    except OverflowError as err:  # e.g. 0001-01-01T00:00:00+14:00
        raise ServiceProblem(ReasonCode.INVALID_REQUEST, "Time out of range", "since: no UTC time") from err


async def tenant_entries(
    database: Database, building_id: str, *, since: datetime | None, limit: int
) -> list[TenantEntry]:
    """Oldest first, from `since` (door time) on, at most `limit` lines."""
    after = _utc_text(since) if since else ""
    entries = [
        TenantEntry(
            time=datetime.fromisoformat(row.door_time),
            door_id=row.door_id,
            seq=row.seq,
            carrier=row.carrier_id,
            outcome=row.outcome,
            reason=row.reason,
            verification=Verification.VERIFIED if row.chained else Verification.VERIFIED_AFTER_GAP,
        )
        for row in await receipts.tenant_receipts(database, building_id, since=after, limit=limit)
    ]
    for row in await audit.refused_receipts(database, building_id, tuple(_REFUSED), since=after, limit=limit):
        evidence = json.loads(row.evidence)
        # What a refused receipt says is only a claim: its carrier is not looked up from it.
        entries.append(
            TenantEntry(
                time=datetime.fromisoformat(row.event_time),
                door_id=row.door_id,
                seq=evidence["seq"],
                outcome=evidence["outcome"],
                reason=evidence["reason"],
                verification=_REFUSED[row.kind],
            )
        )
    entries.sort(key=lambda entry: (entry.time, entry.door_id, entry.seq))
    return entries[:limit]
