"""pyzbar's libzbar, called through its ctypes wrapper so the scanner can be configured.

`pyzbar.decode()` builds a fresh scanner per call and exposes only the symbology switch; the
pipeline also needs the GS1 flag and symbol quality, so this module drives the same C
functions that pyzbar binds.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from enum import IntEnum

import numpy as np
from pyzbar import wrapper as zb

from .code32 import as_code32
from .results import Point, Symbology

__all__ = ["RawRead", "ZbarDecoder"]


class _Config(IntEnum):
    """zbar_config_t numbers from zbar.h (0.23); pyzbar's own enum predates BINARY."""

    ENABLE = 0
    MIN_LEN = 0x20
    X_DENSITY = 0x100
    Y_DENSITY = 0x101


_MOD_GS1 = 1 << 0
# ITF has no check character and weak start/stop patterns: a scan line crossing a tilted
# symbol through its side reads a shorter, wrong number. Such partial reads come from one
# line, so ITF is kept only when several scan lines agree (quality counts agreeing lines);
# below zbar's default minimum length of 6, where partial reads of other patterns hide, many.
_ITF_MIN_QUALITY = 4
_SHORT_ITF = 6
_SHORT_ITF_MIN_QUALITY = 10
_FOURCC_Y800 = int.from_bytes(b"Y800", "little")

_zbar_symbol_get_modifiers = zb.zbar_function(
    "zbar_symbol_get_modifiers", ctypes.c_uint, ctypes.POINTER(zb.zbar_symbol)
)

_SYMBOLOGY = {
    zb.ZBarSymbol.CODE128: Symbology.CODE128,
    zb.ZBarSymbol.CODE39: Symbology.CODE39,
    zb.ZBarSymbol.I25: Symbology.ITF,
    zb.ZBarSymbol.EAN13: Symbology.EAN13,
    zb.ZBarSymbol.EAN8: Symbology.EAN8,
    zb.ZBarSymbol.UPCE: Symbology.UPCE,
    zb.ZBarSymbol.QRCODE: Symbology.QR_CODE,
}
# UPC-A is left disabled on purpose: zbar then reports it as EAN-13 with a leading 0.
_ENABLED = tuple(_SYMBOLOGY)


@dataclass(frozen=True, slots=True)
class RawRead:
    """One zbar symbol, before the pipeline maps its position back to the input frame."""

    symbology: Symbology
    raw: bytes
    polygon: tuple[Point, ...]
    quality: int
    gs1: bool


class ZbarDecoder:
    """A reusable zbar scanner limited to the parcel symbologies; not thread-safe (one per worker)."""

    def __init__(self) -> None:
        scanner = zb.zbar_image_scanner_create()
        if not scanner:
            raise MemoryError("zbar could not create an image scanner")
        self._scanner = scanner
        for symbol in zb.ZBarSymbol:
            if symbol not in (zb.ZBarSymbol.NONE, zb.ZBarSymbol.PARTIAL):
                zb.zbar_image_scanner_set_config(scanner, symbol, _Config.ENABLE, int(symbol in _ENABLED))
        # ITF allows any even length; short reads are filtered by quality in _reads instead.
        zb.zbar_image_scanner_set_config(scanner, zb.ZBarSymbol.I25, _Config.MIN_LEN, 4)
        self._lines: tuple[int, int] = (-1, -1)

    def _set_lines(self, columns: int, rows: int) -> None:
        """Scan every `columns`-th column and `rows`-th row (0: none); set only when it changes."""
        if (columns, rows) != self._lines:
            zb.zbar_image_scanner_set_config(self._scanner, 0, _Config.X_DENSITY, columns)
            zb.zbar_image_scanner_set_config(self._scanner, 0, _Config.Y_DENSITY, rows)
            self._lines = (columns, rows)

    def __del__(self) -> None:
        scanner = getattr(self, "_scanner", None)
        if scanner:
            zb.zbar_image_scanner_destroy(scanner)
            self._scanner = None

    def decode(self, gray: np.ndarray, *, density: int = 1, rows_only: bool = False) -> list[RawRead]:
        """Decode an 8-bit single-channel image, scanning one line in `density`.

        `rows_only` scans horizontal lines only, for crops whose bars are already vertical:
        vertical lines would only run along the bars, costing time and finding nothing.
        """
        if gray.ndim != 2 or gray.dtype != np.uint8:
            raise ValueError("zbar needs an 8-bit grayscale image")
        if density < 1:
            raise ValueError("density must be at least 1")
        self._set_lines(0 if rows_only else density, density)
        height, width = gray.shape
        if width == 0 or height == 0:
            return []
        pixels = np.ascontiguousarray(gray).tobytes()
        image = zb.zbar_image_create()
        try:
            zb.zbar_image_set_format(image, _FOURCC_Y800)
            zb.zbar_image_set_size(image, width, height)
            zb.zbar_image_set_data(
                image, ctypes.cast(ctypes.c_char_p(pixels), ctypes.c_void_p), len(pixels), None
            )
            if zb.zbar_scan_image(self._scanner, image) <= 0:
                return []
            return list(_reads(image))
        finally:
            zb.zbar_image_destroy(image)


def _reads(image: ctypes.c_void_p) -> list[RawRead]:
    reads = []
    symbol = zb.zbar_image_first_symbol(image)
    while symbol:
        kind = _SYMBOLOGY.get(symbol.contents.type)
        if kind is not None:
            data = ctypes.string_at(zb.zbar_symbol_get_data(symbol), zb.zbar_symbol_get_data_length(symbol))
            polygon = tuple(
                (zb.zbar_symbol_get_loc_x(symbol, i), zb.zbar_symbol_get_loc_y(symbol, i))
                for i in range(zb.zbar_symbol_get_loc_size(symbol))
            )
            quality = zb.zbar_symbol_get_quality(symbol)
            if kind is Symbology.ITF and quality < (
                _SHORT_ITF_MIN_QUALITY if len(data) < _SHORT_ITF else _ITF_MIN_QUALITY
            ):
                symbol = zb.zbar_symbol_next(symbol)
                continue
            if kind is Symbology.CODE39 and (code32 := as_code32(data)) is not None:
                kind, data = Symbology.CODE32, code32
            reads.append(
                RawRead(
                    symbology=kind,
                    raw=data,
                    polygon=polygon,
                    quality=quality,
                    gs1=bool(_zbar_symbol_get_modifiers(symbol) & _MOD_GS1),
                )
            )
        symbol = zb.zbar_symbol_next(symbol)
    return reads
