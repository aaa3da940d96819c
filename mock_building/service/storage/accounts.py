"""Drivers and their sessions: accounts, sign-in throttling, token families, handheld keys."""

from __future__ import annotations

from mock_building.service.storage.database import Executor

__all__ = ["add_driver", "driver_ids"]


async def driver_ids(db: Executor) -> set[str]:
    return {row[0] for row in await db.fetch_all("SELECT id FROM drivers")}


async def add_driver(db: Executor, driver_id: str, name: str, carrier_id: str, password_hash: str) -> None:
    await db.execute(
        "INSERT INTO drivers (id, name, carrier_id, password_hash) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT DO NOTHING",
        driver_id,
        name,
        carrier_id,
        password_hash,
    )
