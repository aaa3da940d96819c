"""App factories for `mock_building.building.workers` tests, imported by the worker processes.

`python -m tests.worker_apps` is a parent that starts two workers, prints their pids and waits:
a test kills it outright to see that no worker outlives it.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from mock_building.building.workers import WorkerApp, start_workers


async def _pid(request: Request) -> PlainTextResponse:
    return PlainTextResponse(str(os.getpid()))


@asynccontextmanager
async def pid_app(refuse: bool = False) -> AsyncIterator[Starlette]:
    """Answers every GET / with the pid of the worker that served it; `refuse` fails to build."""
    if refuse:
        raise RuntimeError("this factory was told to fail")
    yield Starlette(routes=[Route("/", _pid)])


async def _parent() -> None:
    pool = await start_workers(WorkerApp("tests.worker_apps:pid_app"), host="127.0.0.1", port=0, count=2)
    print(" ".join(map(str, pool.pids)), flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    sys.exit(asyncio.run(_parent()))
