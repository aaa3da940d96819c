"""The cyclic garbage collector of a serving worker, run on a timer instead of by allocation counts.

CPython starts a young-generation collection every 700 allocations of container objects. Under load
that is about every other request, and each one walks the objects of every request in flight:
~25 µs of CPU per grant at c=200 (bench/grant_load.py: 361-386 µs per request with the default
collector, 342-348 µs without it). Refcounting frees almost everything a request makes — 3,000
grants left no cyclic garbage — so while serving, the collector runs once every `COLLECT_EVERY_S`
instead, over what start-up did not leave behind (start-up's heap is frozen out of its reach).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator

__all__ = ["COLLECT_EVERY_S", "collected_on_a_timer"]

COLLECT_EVERY_S = 1.0


@contextlib.asynccontextmanager
async def collected_on_a_timer(every_s: float = COLLECT_EVERY_S) -> AsyncIterator[None]:
    """Freeze what exists now, then collect cycles every `every_s` seconds (not by allocation counts).

    On exit the collector runs by allocation counts again; what was frozen stays frozen.
    """
    gc.collect()
    gc.freeze()
    gc.disable()
    timer = asyncio.create_task(_collect_every(every_s), name="garbage-collector")
    try:
        yield
    finally:
        timer.cancel()
        gc.enable()


async def _collect_every(every_s: float) -> None:
    while True:
        await asyncio.sleep(every_s)
        gc.collect()
