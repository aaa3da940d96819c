"""Joining what several stages and decoders read in one frame into one list of symbols.

The same symbol read twice (zbar and zxing-cpp, or two stages) is kept once, named after both
decoders. Two reads of the same symbology at the same place with different text disagree: at
most one is right, so the earlier one is kept (the stage order puts zxing-cpp's plain pass
first: on the shared photos and the synthetic labels it misread less often than zbar), unless
only the earlier is a known one-sided misread (`cross_checked`). Check digits were already
enforced by then.
"""

from __future__ import annotations

from dataclasses import replace

from .checks import has_valid_check_digit
from .results import ScanResult, Symbology

__all__ = ["cross_checked", "merge", "overlaps"]


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
        kind = result.symbology
        same_place = (i for i, k in enumerate(merged) if k.symbology is kind and overlaps(k, result))
        rival = next(same_place, None)
        if rival is not None:  # two reads of one symbol disagree: the first, unless only it is one-sided
            if _one_sided(merged[rival]) and not _one_sided(result):
                merged[rival] = result
            continue
        merged.append(result)
    return merged


def cross_checked(results: list[ScanResult]) -> list[ScanResult]:
    """Drop the reads one decoder is known to get wrong when the other did not confirm them.

    Measured on the synthetic labels (bench/scan_synthetic.py): every UPC-E zbar returned alone was
    a fragment of a blurred or skewed EAN-13/UPC-A, and zxing-cpp's only misreads were fragments of
    a skewed ITF (ITF has no check character). So, with both decoders at work, a UPC-E read by zbar
    alone and an ITF without a valid GS1 check digit read by zxing-cpp alone are not reported.
    """
    return [r for r in results if not _one_sided(r)]


def _one_sided(result: ScanResult) -> bool:
    if result.symbology is Symbology.UPCE:
        return result.decoder == "zbar"
    one_decoder = result.decoder == "zxing"
    return result.symbology is Symbology.ITF and one_decoder and not has_valid_check_digit(result)
