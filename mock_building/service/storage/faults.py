"""The service's injected faults, shared by every worker through one row."""

from __future__ import annotations

from dataclasses import dataclass

from mock_building.service.storage.database import Executor

__all__ = ["StoredFaults", "store_faults", "stored_faults"]


@dataclass(frozen=True)
class StoredFaults:
    latency_ms: int
    error_rate: float
    down: bool
    version: int
    """Grows with every write: a worker compares it with the one it last read."""


async def stored_faults(db: Executor) -> StoredFaults | None:
    row = await db.fetch_one("SELECT latency_ms, error_rate, down, version FROM service_faults WHERE id = 1")
    if row is None:
        return None
    return StoredFaults(row["latency_ms"], row["error_rate"], row["down"] != 0, row["version"])


async def store_faults(db: Executor, latency_ms: int, error_rate: float, down: bool) -> StoredFaults:
    """Replace the faults; what was stored, with its new version."""
    row = await db.fetch_one(
        "INSERT INTO service_faults (id, latency_ms, error_rate, down, version) VALUES (1, $1, $2, $3, 1)"
        " ON CONFLICT (id) DO UPDATE SET latency_ms = excluded.latency_ms, error_rate = excluded.error_rate,"
        " down = excluded.down, version = service_faults.version + 1"
        " RETURNING version",
        latency_ms,
        float(error_rate),
        int(down),
    )
    assert row is not None
    return StoredFaults(latency_ms, error_rate, down, row["version"])
