"""Checking the user's keymap (settings `keymap`: binding id → keys) against the ids that exist.

Textual silently ignores an id it does not know; a driver who mistyped one should be told instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from textual.binding import Binding, BindingType
from textual.dom import DOMNode

__all__ = ["binding_ids", "unknown_ids"]


def binding_ids(*owners: type[DOMNode]) -> frozenset[str]:
    """Every binding id declared by these apps/screens/widgets (and their bases)."""
    found: set[str] = set()
    for owner in owners:
        for cls in owner.__mro__:
            bindings: Iterable[BindingType] = getattr(cls, "BINDINGS", [])
            found.update(b.id for b in bindings if isinstance(b, Binding) and b.id)
    return frozenset(found)


def unknown_ids(keymap: Mapping[str, str], known: frozenset[str]) -> list[str]:
    return sorted(set(keymap) - known)
