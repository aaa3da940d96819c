"""Strict reading of parsed TOML tables: every key is typed, unknown keys are errors naming the key."""

from __future__ import annotations

import difflib
from typing import Any, TypeVar

from mock_building.errors import ScenarioError

__all__ = ["Table"]

T = TypeVar("T")
_MISSING: Any = object()


class Table:
    """A TOML table being read; call `finish()` once done so leftover (unknown) keys are reported."""

    def __init__(self, data: object, path: str) -> None:
        if not isinstance(data, dict):
            raise ScenarioError(path, f"expected a table, got {type(data).__name__}")
        self._data: dict[str, Any] = data
        self._path = path
        self._seen: set[str] = set()

    def key_path(self, key: str) -> str:
        return f"{self._path}.{key}" if self._path else key

    def _get(self, key: str, kinds: tuple[type, ...], default: Any, kind_name: str) -> Any:
        self._seen.add(key)
        if key not in self._data:
            if default is _MISSING:
                near = difflib.get_close_matches(key, [k for k in self._data if k not in self._seen], n=1)
                hint = f" (is {near[0]!r} a misspelling of it?)" if near else ""
                raise ScenarioError(self.key_path(key), f"required key is missing{hint}")
            return default
        value = self._data[key]
        # bool is an int subclass in Python; never accept true/false where a number is expected.
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            raise ScenarioError(self.key_path(key), f"expected {kind_name}, got {type(value).__name__}")
        return value

    def has(self, key: str) -> bool:
        return key in self._data

    def str(self, key: str, default: Any = _MISSING) -> Any:
        return self._get(key, (str,), default, "a string")

    def int(self, key: str, default: Any = _MISSING) -> Any:
        return self._get(key, (int,), default, "an integer")

    def number(self, key: str, default: Any = _MISSING) -> Any:
        value = self._get(key, (int, float), default, "a number")
        return float(value) if value is not None else None

    def bool(self, key: str, default: Any = _MISSING) -> Any:
        return self._get(key, (bool,), default, "true or false")

    def raw(self, key: str, default: Any = _MISSING) -> Any:
        return self._get(key, (object,), default, "a value")

    def str_list(self, key: str, default: Any = _MISSING) -> tuple[str, ...]:
        values = self._get(key, (list,), default, "a list of strings")
        for index, item in enumerate(values):
            if not isinstance(item, str):
                raise ScenarioError(f"{self.key_path(key)}[{index}]", "expected a string")
        return tuple(values)

    def table(self, key: str) -> Table:
        return Table(self._get(key, (dict,), {}, "a table"), self.key_path(key))

    def tables(self, key: str) -> list[Table]:
        items = self._get(key, (list,), [], "an array of tables ([[...]])")
        return [Table(item, f"{self.key_path(key)}[{index}]") for index, item in enumerate(items)]

    def fail(self, key: str, message: str) -> ScenarioError:
        return ScenarioError(self.key_path(key), message)

    def finish(self) -> None:
        unknown = sorted(set(self._data) - self._seen)
        if unknown:
            near = difflib.get_close_matches(unknown[0], sorted(self._seen), n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else f" (known: {', '.join(sorted(self._seen))})"
            raise ScenarioError(self.key_path(unknown[0]), f"unknown key{hint}")
