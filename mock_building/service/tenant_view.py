"""The tenant view: which carrier came to which door of a building when, and how sure the service is.

Tenants were never told who enters their lobby. This view names carriers only (no driver, no
pseudonym, no stop or unit), one line per door receipt, each with its verification status. Receipts
the service refused (bad signature, broken or forked chain) are listed too, from the alerts that
kept their evidence, so a forged entry shows up as forged instead of vanishing.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from mock_building.service.db import Store
from mock_building.service.problems import ServiceProblem
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


def tenant_entries(
    store: Store, building_id: str, *, since: datetime | None, limit: int
) -> list[TenantEntry]:
    """Oldest first, from `since` (door time) on, at most `limit` lines."""
    after = _utc_text(since) if since else ""
    stored = store.conn.execute(
        "SELECT r.door_time, r.door_id, r.seq, r.outcome, r.reason, g.carrier_id,"
        " (r.seq = 0 OR EXISTS (SELECT 1 FROM receipts p WHERE p.door_id = r.door_id AND p.seq = r.seq - 1))"
        " AS chained FROM receipts r JOIN doors d ON d.id = r.door_id"
        " LEFT JOIN grants g ON g.id = r.grant_id AND g.door_id = r.door_id"
        " WHERE d.building_id = ? AND r.door_time >= ? ORDER BY r.door_time, r.door_id, r.seq LIMIT ?",
        (building_id, after, limit),
    ).fetchall()
    entries = [
        TenantEntry(
            time=datetime.fromisoformat(row["door_time"]),
            door_id=row["door_id"],
            seq=row["seq"],
            carrier=row["carrier_id"],
            outcome=row["outcome"],
            reason=row["reason"],
            verification=Verification.VERIFIED if row["chained"] else Verification.VERIFIED_AFTER_GAP,
        )
        for row in stored
    ]
    refused = store.conn.execute(
        # only constants and "?" placeholders are formatted into this SQL; values are parameters
        f"SELECT kind, event_time, door_id, evidence FROM alerts WHERE building_id = ? AND event_time >= ?"  # noqa: S608
        f" AND kind IN ({','.join('?' * len(_REFUSED))}) ORDER BY event_time LIMIT ?",
        (building_id, after, *_REFUSED, limit),
    ).fetchall()
    for row in refused:
        evidence = json.loads(row["evidence"])
        # What a refused receipt says is only a claim: its carrier is not looked up from it.
        entries.append(
            TenantEntry(
                time=datetime.fromisoformat(row["event_time"]),
                door_id=row["door_id"],
                seq=evidence["seq"],
                outcome=evidence["outcome"],
                reason=evidence["reason"],
                verification=_REFUSED[row["kind"]],
            )
        )
    entries.sort(key=lambda entry: (entry.time, entry.door_id, entry.seq))
    return entries[:limit]
