"""Polite, idempotent retries: the real workflow and httpx client against the real service.

The service runs on uvicorn over loopback with its database in a SQLite file; a TCP hop in front
of it loses answers, and its fault switch (error rate) and grant rate limit make the rest of the trouble. The doors are the core's fake door
link (the radio is not what these tests are about). Waits go through the workflow's `sleep` hook,
which also moves the clocks, so a 60 s `Retry-After` takes no real time.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from driver_app.adapters.access_http import HttpAccessClient
from driver_app.adapters.credentials_memory import MemoryCredentialStore
from driver_app.adapters.outbox_sqlite import SqliteOutbox
from driver_app.core.ports import DoorOutcome, NearbyDoor, Scan, ScanSource
from driver_app.core.retry import Backoff
from driver_app.core.state import RetryCountdown, RouteState, StopPhase
from driver_app.core.workflow import DriverWorkflow
from mock_building.building.serving import serve_app
from mock_building.service.clock import FakeClock
from tests.core_fakes import FakeDoors
from tests.service_support import ADMIN, NOON, HandheldClock, make_app


class LossyProxy:
    """A TCP hop between the handheld and the service that can lose the answer to one grant request.

    The request reaches the service, which decides and answers; the answer is thrown away and the
    handheld's connection dropped, as when coverage fails on the way back.
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.lose_grant_answers = 0
        self.lost = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _relay(self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter) -> None:
        server_in, server_out = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        lose = asyncio.Event()

        async def upstream() -> None:
            while data := await client_in.read(65536):
                if b"POST /v1/grants" in data and self.lose_grant_answers:
                    self.lose_grant_answers -= 1
                    lose.set()
                server_out.write(data)
                await server_out.drain()

        async def downstream() -> None:
            while data := await server_in.read(65536):
                if lose.is_set():  # the service answered: that answer never arrives
                    self.lost += 1
                    return
                client_out.write(data)
                await client_out.drain()

        pumps = [asyncio.create_task(upstream()), asyncio.create_task(downstream())]
        await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        for pump in pumps:
            pump.cancel()
        client_out.close()
        server_out.close()


@dataclass
class World:
    url: str
    db: Path
    clock: HandheldClock
    workflow: DriverWorkflow
    doors: FakeDoors
    proxy: LossyProxy
    sleeps: list[float] = field(default_factory=list)
    states: list[RouteState] = field(default_factory=list)
    on_first_sleep: list[Coroutine[Any, Any, None]] = field(default_factory=list)

    def grants(self) -> list[str]:
        with sqlite3.connect(self.db) as conn:
            return [row[0] for row in conn.execute("SELECT id FROM grants ORDER BY issued_at")]

    async def faults(self, **settings: object) -> None:
        async with httpx.AsyncClient(base_url=self.url, timeout=30) as http:
            answer = await http.put(
                "/v1/admin/faults", json=settings, headers={"Authorization": f"Bearer {ADMIN}"}
            )
            answer.raise_for_status()

    def countdowns(self) -> list[RetryCountdown]:
        return [state.retry for state in self.states if state.retry is not None]


async def _world(tmp_path: Path, *, jitter: float = 0.0, **overrides: object) -> AsyncIterator[World]:
    service_clock = FakeClock(NOON)
    db = tmp_path / "service.sqlite3"
    app = await make_app(service_clock, db_path=db, **overrides)
    served = await serve_app(app, "127.0.0.1", 0)
    proxy = LossyProxy(int(served.url.rsplit(":", 1)[1]))
    clock = HandheldClock(service_clock)
    access = HttpAccessClient(await proxy.start(), clock=clock, timeout=10.0)
    doors = FakeDoors(clock, [NearbyDoor("A-N", -50)])
    world: World

    async def sleep(seconds: float) -> None:
        world.sleeps.append(seconds)
        if world.on_first_sleep:
            await world.on_first_sleep.pop(0)  # what the test wants done before the retry
        clock.advance(seconds)
        await asyncio.sleep(0)

    workflow = DriverWorkflow(
        access=access,
        doors=doors,
        credentials=MemoryCredentialStore(),
        outbox=SqliteOutbox(tmp_path / "outbox.db"),
        clock=clock,
        sleep=sleep,
        backoff=Backoff(attempts=4, first=0.5, jitter=lambda: jitter),
        on_change=lambda state: world.states.append(state),
        on_close=(access.aclose,),
    )
    world = World(served.url, db, clock, workflow, doors, proxy)
    try:
        await workflow.sign_in("alice", "alice-pw")
        await workflow.load_route()
        assert workflow.state.current_stop_id == "S1"
        await workflow.submit_scan(Scan("BC-1", ScanSource.MANUAL))
        doors.outcomes = [DoorOutcome("A-N", True, "ok", None, open_seconds=5.0)] * 2
        yield world
    finally:
        await workflow.aclose()
        await proxy.stop()
        await served.stop()
        await app.state.service.database.close()


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async for w in _world(tmp_path):
        yield w


async def test_a_lost_grant_answer_retried_gets_the_same_grant(tmp_path: Path) -> None:
    async for world in _world(tmp_path, jitter=1.0):
        world.proxy.lose_grant_answers = 1
        outcome = await world.workflow.unlock("A-N")
        assert outcome.accepted
        assert world.proxy.lost == 1 and len(world.sleeps) == 1  # one answer lost, one retry
        grants = world.grants()
        assert len(grants) == 1  # the retry was answered with the grant whose answer was lost
        stop = world.workflow.state.stops["S1"]
        assert (
            stop.phase is StopPhase.UNLOCKED
            and stop.grant_id is not None
            and stop.grant_id.hex() == grants[0]
        )


async def test_a_new_unlock_attempt_is_a_new_grant(world: World) -> None:
    assert (await world.workflow.unlock("A-N")).accepted
    assert (await world.workflow.unlock("A-N")).accepted
    assert len(set(world.grants())) == 2


async def test_retry_after_from_the_service_is_a_floor_and_the_countdown_shows_it(world: World) -> None:
    await world.faults(error_rate=1.0)  # every call: 503 with Retry-After: 1
    world.on_first_sleep.append(world.faults())
    assert (await world.workflow.unlock("A-N")).accepted
    # The client's own jittered wait was 0 s here: it waited the service's 1 s anyway.
    assert world.sleeps == [1.0]
    first = world.countdowns()[0]
    assert (first.attempt, first.attempts, first.seconds_left, first.service_asked) == (2, 4, 1.0, True)
    assert world.workflow.state.retry is None  # cleared once the call went through


async def test_a_rate_limited_grant_waits_as_long_as_the_service_says_counting_down(tmp_path: Path) -> None:
    async for world in _world(tmp_path, grant_rate_limit=1, grant_rate_window_s=45.0):
        assert (await world.workflow.unlock("A-N")).accepted
        assert (await world.workflow.unlock("A-N")).accepted  # 429 Retry-After: 45, then a grant
        assert sum(world.sleeps) == 45.0 and max(world.sleeps) <= 1.0  # ticking once a second
        left = [c.whole_seconds_left for c in world.countdowns()]
        assert left[0] == 45 and left[:3] == [45, 44, 43] and left[-1] == 0
        assert {(c.reason, c.attempt, c.attempts) for c in world.countdowns()} == {("rate_limited", 2, 4)}
        assert len(world.grants()) == 2


async def test_a_wait_longer_than_the_client_accepts_is_given_up_at_once(tmp_path: Path) -> None:
    async for world in _world(tmp_path, grant_rate_limit=1, grant_rate_window_s=3600.0):
        assert (await world.workflow.unlock("A-N")).accepted
        outcome = await world.workflow.unlock("A-N")
        assert not outcome.accepted and outcome.reason == "rate_limited"
        assert world.sleeps == []
