"""Multi-frame confirmation: a live scan reports a code only once consecutive frames agree.

A valid check digit alone is not enough: zbar has been seen returning a wrong EAN-13 whose
check digit happened to be valid (ean13-1/37 sharpened). Reads with an invalid check digit
never get here (the pipeline drops them); every other read must repeat, identical, in
`repeats` of the last `window` frames. Reads that disagree never confirm each other.
"""

from __future__ import annotations

from collections import deque

from .results import ScanResult, Symbology

__all__ = ["Confirmer"]

_Key = tuple[Symbology, bytes]


class Confirmer:
    """Feed it each frame's results; it returns the reads that frame confirmed (each only once)."""

    def __init__(self, *, repeats: int = 2, window: int = 5) -> None:
        if not 1 <= repeats <= window:
            raise ValueError("need 1 <= repeats <= window")
        self._repeats = repeats
        self._recent: deque[frozenset[_Key]] = deque(maxlen=window)
        self._reported: set[_Key] = set()

    def feed(self, results: list[ScanResult]) -> list[ScanResult]:
        latest = {(r.symbology, r.raw): r for r in results}
        self._recent.append(frozenset(latest))
        confirmed = []
        for key, result in latest.items():
            if key not in self._reported and sum(key in frame for frame in self._recent) >= self._repeats:
                self._reported.add(key)
                confirmed.append(result)
        return confirmed

    def reset(self) -> None:
        """Forget everything, e.g. when the driver starts scanning the next parcel."""
        self._recent.clear()
        self._reported.clear()
