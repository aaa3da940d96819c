"""The cyclic garbage collector of a serving worker, run on a timer instead of by allocation counts.

CPython starts a young-generation collection every 700 allocations of container objects. Under load
that is about every other request, and each one walks the objects of every request in flight:
~25 µs of CPU per grant at c=200 (bench/grant_load.py: 361-386 µs per request with the default
collector, 342-348 µs without it). Refcounting frees almost everything a request makes — 3,000
grants left no cyclic garbage — so while serving, the collector runs on a timer instead: the young
generations every `COLLECT_EVERY_S`, everything every `FULL_EVERY` of those (a full pass walks every
object the worker keeps, its connections and caches; start-up's heap is frozen out of its reach).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
from collections.abc import AsyncIterator

__all__ = ["COLLECT_EVERY_S", "FULL_EVERY", "collected_on_a_timer"]

COLLECT_EVERY_S = 1.0
FULL_EVERY = 60


@contextlib.asynccontextmanager
async def collected_on_a_timer(
    every_s: float = COLLECT_EVERY_S, full_every: int = FULL_EVERY
) -> AsyncIterator[None]:
    """Freeze what exists now, then collect cycles on a timer (not by allocation counts): the young
    generations every `every_s` seconds, all of them every `full_every` of those.

    On exit the collector runs by allocation counts again; what was frozen stays frozen.
    """
    gc.collect()
    gc.freeze()
    gc.disable()
    timer = asyncio.create_task(_collect_every(every_s, full_every), name="garbage-collector")
    try:
        yield
    finally:
        timer.cancel()
        gc.enable()


async def _collect_every(every_s: float, full_every: int) -> None:
    for tick in itertools.count(1):
        await asyncio.sleep(every_s)
        gc.collect(2 if tick % full_every == 0 else 1)
