"""A serving worker's collector: off by allocation counts, on a timer, and cycles still freed."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Iterator

import pytest

from mock_building.building.collector import collected_on_a_timer


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: refcounting alone never frees it


@pytest.fixture(autouse=True)
def _collector_restored() -> Iterator[None]:
    """Whatever a test leaves, the process's collector runs by allocation counts over everything again."""
    yield
    gc.enable()
    gc.unfreeze()


async def _freed(cycle: weakref.ref[_Node], within_s: float) -> bool:
    """Whether the collector frees `cycle` within `within_s`, the loop turning meanwhile."""
    for _ in range(round(within_s / 0.05)):
        if cycle() is None:
            break
        await asyncio.sleep(0.05)
    return cycle() is None


async def test_a_cycle_made_while_serving_is_freed_by_the_timer_not_by_allocations():
    async with collected_on_a_timer(every_s=0.2):
        assert not gc.isenabled()
        cycle = weakref.ref(_Node())
        _ = [[] for _ in range(10_000)]  # far past the allocation count that would collect
        assert cycle() is not None
        assert await _freed(cycle, within_s=2.5)
    assert gc.isenabled()


async def test_what_existed_before_serving_is_frozen_out_of_the_collectors_reach():
    before = _Node()
    async with collected_on_a_timer(every_s=60):
        assert gc.get_freeze_count() > 0
        assert not any(obj is before for obj in gc.get_objects())


async def test_a_cycle_that_outlived_a_young_collection_is_freed_by_the_full_one():
    async with collected_on_a_timer(every_s=0.05, full_every=4):
        node = _Node()
        cycle = weakref.ref(node)
        await asyncio.sleep(0.12)  # a young collection or two: the live cycle moves to the oldest generation
        gc.collect(1)
        del node
        gc.collect(1)  # what the timer runs between full passes: it does not look there
        assert cycle() is not None
        assert await _freed(cycle, within_s=2.0)
