"""Synchronous access to the embedded SQLite connection, for the modules not yet on the storage seam.

Transitional: each aggregate moves to an async repository in `storage/`; this goes when the last does.
Until then a synchronous module calls converted (async) code with `store.run(f(store.executor, ...))`:
on this connection the seam's statements run inline, so such a call finishes without suspending.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from mock_building.service.storage import Executor
from mock_building.service.storage.sqlite import _Statements

__all__ = ["Store"]

_T = TypeVar("_T")


class Store:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.executor: Executor = _Statements(conn)
        """The connection as a seam executor (inside or outside this store's transaction)."""

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    @staticmethod
    def run(call: Coroutine[Any, Any, _T]) -> _T:
        """The result of an async call on `executor`, from synchronous code."""
        try:
            call.send(None)
        except StopIteration as finished:
            result: _T = finished.value
            return result
        call.close()
        raise RuntimeError("an async call on the store's executor suspended: it cannot run synchronously")
