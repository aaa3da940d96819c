"""The storage seam: what every repository may ask of a database, whichever backend serves it.

SQL handed to an `Executor` is written once for both backends: `$1, $2, ...` parameters, standard
`INSERT ... ON CONFLICT`, `RETURNING`, no backend functions (times are computed in Python and stored
as ISO-8601 UTC text or epoch seconds). Where PostgreSQL cannot infer a parameter's type, the SQL
says `CAST($n AS TEXT)`. Only the backends (`sqlite`, `postgres`) know their dialect.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

__all__ = ["Database", "Executor", "Row"]


class Row(Protocol):
    """One result row: columns by name or position (sqlite3.Row and asyncpg.Record both are)."""

    def __getitem__(self, key: str | int, /) -> Any: ...


class Executor(Protocol):
    """Statements on a database, or inside one of its transactions."""

    async def fetch_one(self, sql: str, *args: object) -> Row | None: ...

    async def fetch_all(self, sql: str, *args: object) -> list[Row]: ...

    async def fetch_value(self, sql: str, *args: object) -> Any:
        """The first column of the first row, or None when there is no row."""
        ...

    async def execute(self, sql: str, *args: object) -> int:
        """Run a statement; the number of rows it changed."""
        ...

    async def execute_many(self, sql: str, rows: Iterable[Sequence[object]]) -> None: ...


class Database(Executor, Protocol):
    """An open, migrated database; statements outside `transaction()` each commit on their own."""

    dialect: str
    """"sqlite" or "postgresql", for logs and diagnostics only: repositories never branch on it."""

    def transaction(self) -> AbstractAsyncContextManager[Executor]:
        """All-or-nothing: committed when the block ends, rolled back when it raises."""
        ...

    def lease(self) -> AbstractAsyncContextManager[None]:
        """Keep this task's statements on one connection until the block ends (where there are several)."""
        ...

    async def close(self) -> None: ...
