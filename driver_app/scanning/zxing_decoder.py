"""The optional second decoder, zxing-cpp (the `zxing` extra), for the 2D codes zbar cannot read.

It is imported lazily: without the extra the app runs on zbar alone and `load_zxing()` says
so with `None` instead of failing.
"""

from __future__ import annotations

import importlib
import time
from types import ModuleType

import numpy as np

from .results import ScanResult, Symbology

__all__ = ["ZxingDecoder", "load_zxing"]

# zxing-cpp format name -> our symbology; formats zbar already reads are deliberately left out.
_TWO_D = {
    "DataMatrix": Symbology.DATA_MATRIX,
    "PDF417": Symbology.PDF417,
    "MaxiCode": Symbology.MAXICODE,
    "Aztec": Symbology.AZTEC,
}
_ALL = {
    **_TWO_D,
    "Code128": Symbology.CODE128,
    "Code39": Symbology.CODE39,
    "ITF": Symbology.ITF,
    "EAN13": Symbology.EAN13,
    "EAN8": Symbology.EAN8,
    "UPCA": Symbology.EAN13,
    "UPCE": Symbology.UPCE,
    "QRCode": Symbology.QR_CODE,
}


class ZxingDecoder:
    """zxing-cpp limited to `formats` (default: the 2D codes zbar lacks)."""

    name = "zxing"

    def __init__(self, module: ModuleType, *, two_d_only: bool = True) -> None:
        self._zx = module
        self._map = _TWO_D if two_d_only else _ALL
        self._formats = module.barcode_formats_from_str(",".join(self._map))

    def decode(self, gray: np.ndarray) -> list[ScanResult]:
        start = time.perf_counter()
        barcodes = self._zx.read_barcodes(gray, formats=self._formats, text_mode=self._zx.TextMode.Plain)
        ms = (time.perf_counter() - start) * 1000
        results = []
        for barcode in barcodes:
            kind = self._map.get(_format_name(barcode.format))
            if kind is None:
                continue
            position = barcode.position
            corners = (position.top_left, position.top_right, position.bottom_right, position.bottom_left)
            text = barcode.text
            if kind is Symbology.EAN13 and len(text) == 12:  # UPC-A, reported in its EAN-13 form
                text = "0" + text
            results.append(
                ScanResult(
                    symbology=kind,
                    raw=text.encode("utf-8"),
                    polygon=tuple((p.x, p.y) for p in corners),
                    ms=ms,
                    decoder=self.name,
                    stage="zxing",
                    gs1=barcode.content_type == self._zx.ContentType.GS1,
                )
            )
        return results


def _format_name(fmt: object) -> str:
    return str(fmt).rsplit(".", 1)[-1].replace(" ", "").replace("-", "")


def load_zxing(*, two_d_only: bool = True) -> ZxingDecoder | None:
    """The zxing-cpp decoder when the extra is installed, else None (zbar alone still works)."""
    try:
        module = importlib.import_module("zxingcpp")
    except ImportError:
        return None
    return ZxingDecoder(module, two_d_only=two_d_only)
