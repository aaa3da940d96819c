"""The service's chores: each round runs every chore, and a failing chore neither stops the others
nor the rounds after it (a database outage is a warning, a bug is logged with its traceback)."""

from __future__ import annotations

import asyncio
import logging

from fastapi import FastAPI

from mock_building.errors import DatabaseUnavailable
from mock_building.service import chores
from mock_building.service.chores import Chores


async def test_a_failing_chore_stops_neither_the_others_nor_the_next_round(monkeypatch, caplog):
    monkeypatch.setattr(chores, "CHECK_EVERY_S", 0.01)
    runs = {"outage": 0, "bug": 0, "fine": 0}

    async def outage() -> None:
        runs["outage"] += 1
        raise DatabaseUnavailable("the database is away")

    async def bug() -> None:
        runs["bug"] += 1
        raise ValueError("a bug")

    async def fine() -> None:
        runs["fine"] += 1

    kept = Chores({"reach the database": outage, "do the buggy thing": bug, "do the fine thing": fine})
    with caplog.at_level(logging.WARNING, logger=chores.__name__):
        async with kept.kept(FastAPI()):
            for _ in range(200):
                if min(runs.values()) >= 3:
                    break
                await asyncio.sleep(0.01)
    assert min(runs.values()) >= 3
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert warnings and all(
        r.getMessage() == "could not reach the database: the database is away" for r in warnings
    )
    assert errors and all(r.getMessage() == "could not do the buggy thing" and r.exc_info for r in errors)


async def test_the_chores_stop_with_the_app(monkeypatch):
    monkeypatch.setattr(chores, "CHECK_EVERY_S", 0.01)
    runs = []
    ran = asyncio.Event()

    async def count() -> None:
        runs.append(1)
        ran.set()

    async with Chores({"count": count}).kept(FastAPI()):
        await asyncio.wait_for(ran.wait(), 5)
    stopped_at = len(runs)
    await asyncio.sleep(0.05)
    assert len(runs) == stopped_at
