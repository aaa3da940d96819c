"""Joining what several stages and decoders read in one frame into one list of symbols.

The same symbol read twice (zbar and zxing-cpp, or two stages) is kept once, named after both
decoders. Two reads of the same symbology at the same place with different text are the two
decoders disagreeing: at most one is right, so the earlier one is kept. The stage order puts
zxing-cpp's pass first because on the shared photos and the synthetic labels it misread
less often than zbar (see bench/scan_eval.py); check digits were already enforced by then.
"""

from __future__ import annotations

from dataclasses import replace

from .results import ScanResult

__all__ = ["merge", "overlaps"]


def overlaps(a: ScanResult, b: ScanResult) -> bool:
    """True when the two bounding boxes share over half of the smaller one (the same symbol)."""
    (ax, ay, aw, ah), (bx, by, bw, bh) = a.rect, b.rect
    if not aw * ah or not bw * bh:
        return False
    width = min(ax + aw, bx + bw) - max(ax, bx)
    height = min(ay + ah, by + bh) - max(ay, by)
    return width > 0 and height > 0 and width * height > 0.5 * min(aw * ah, bw * bh)


def merge(kept: list[ScanResult], new: list[ScanResult]) -> list[ScanResult]:
    """`kept` plus the reads of `new` that are other symbols; repeats add their decoder's name."""
    merged = list(kept)
    for result in new:
        key = (result.symbology, result.raw)
        twin = next((i for i, k in enumerate(merged) if (k.symbology, k.raw) == key), None)
        if twin is not None:
            decoders = merged[twin].decoder.split("+")
            if result.decoder not in decoders:
                merged[twin] = replace(merged[twin], decoder="+".join([*decoders, result.decoder]))
            continue
        if any(k.symbology is result.symbology and overlaps(k, result) for k in merged):
            continue  # the decoders disagree on this symbol: keep the first read
        merged.append(result)
    return merged
