"""Telling a handheld's keyboard-wedge scanner from a person typing, by the gaps between keys.

A wedge scanner "types" the whole barcode within a few milliseconds and ends it with Enter; nobody
types six characters at under 30 ms a key. The detector is pure (times are passed in) so the rule can
be tested without a terminal.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["WedgeDetector"]


@dataclass
class WedgeDetector:
    """Accumulates one run of fast keys; `enter` says whether the run was a scan."""

    min_length: int = 6
    max_gap: float = 0.030
    _chars: list[str] = field(default_factory=list, init=False)
    _last: float | None = field(default=None, init=False)

    def char(self, char: str, at: float) -> bool:
        """Record a printable key; True when it starts a new run (the caller may snapshot inputs)."""
        fresh = not self._chars or self._last is None or at - self._last >= self.max_gap
        if fresh:
            self._chars = []
        self._chars.append(char)
        self._last = at
        return fresh

    def enter(self, at: float) -> str | None:
        """The burst's text when Enter closes a fast-enough, long-enough run, else None."""
        text = "".join(self._chars)
        fast = self._last is not None and at - self._last < self.max_gap
        self.reset()
        return text if fast and len(text) >= self.min_length else None

    def reset(self) -> None:
        """Any other key (arrows, escape, ...) ends a run: scanners only send characters and Enter."""
        self._chars = []
        self._last = None
