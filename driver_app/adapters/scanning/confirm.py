"""Confirmation of live reads: by two symbols of one label agreeing, or by frames repeating a read.

A valid check digit alone is not enough: zbar has been seen returning a wrong EAN-13 whose
check digit happened to be valid (ean13-1/37 sharpened). Reads with an invalid check digit
never get here (the pipeline drops them). A read is confirmed when, in one frame, another
symbol on the label carries the same data (the 1D tracking code and the 2D routing code both
hold the tracking number: two independent symbols misreading into agreement is not a risk
worth a frame's wait), or else when it repeats, identical, in `repeats` of the last `window`
frames. Reads that disagree never confirm each other.
"""

from __future__ import annotations

from collections import deque

from .merge import overlaps
from .results import ScanResult, Symbology

__all__ = ["Confirmer", "agree"]

_Key = tuple[Symbology, bytes]
_MIN_CONTAINED = 8  # a shorter payload found inside a longer one must be this long to count as agreement


def agree(a: ScanResult, b: ScanResult) -> bool:
    """Two different symbols (another format, or elsewhere in the frame) carrying the same data.

    Equal payloads agree; so does a tracking number of 8+ bytes found inside the other
    symbol's payload (a MaxiCode or PDF417 routing code holds it among other fields).
    """
    if a.symbology is b.symbology and overlaps(a, b):
        return False  # two reads of one symbol
    short, long = sorted((a.raw, b.raw), key=len)
    return short == long or (len(short) >= _MIN_CONTAINED and short in long)


class Confirmer:
    """Feed it each frame's reads; once one is confirmed it returns the confirmed ones first, then
    the other symbols of this frame and the last.

    Those others come along (the core picks the one that is a parcel on the route) and are
    treated as reported too: they belong to the label just confirmed.
    """

    def __init__(self, *, repeats: int = 2, window: int = 5) -> None:
        if not 1 <= repeats <= window:
            raise ValueError("need 1 <= repeats <= window")
        self._repeats = repeats
        self._recent: deque[dict[_Key, ScanResult]] = deque(maxlen=window)
        self._reported: set[_Key] = set()

    def feed(self, results: list[ScanResult]) -> list[ScanResult]:
        latest = {(r.symbology, r.raw): r for r in results}
        self._recent.append(latest)
        confirmed = [
            result
            for key, result in latest.items()
            if key not in self._reported
            and (
                sum(key in frame for frame in self._recent) >= self._repeats
                or any(agree(result, other) for other in latest.values() if other is not result)
            )
        ]
        if not confirmed:
            return []
        # The label's other symbols: this frame's and the last frame's (on a busy machine the two
        # decoders take turns), newest first, each once. Older frames may show the previous label.
        taken = {(r.symbology, r.raw) for r in confirmed}
        others: dict[_Key, ScanResult] = {}
        for frame in list(self._recent)[:-3:-1]:
            for key, result in frame.items():
                if key not in self._reported and key not in taken:
                    others.setdefault(key, result)
        self._reported.update(taken, others)
        return confirmed + list(others.values())

    def reset(self) -> None:
        """Forget everything, e.g. when the driver starts scanning the next parcel."""
        self._recent.clear()
        self._reported.clear()
