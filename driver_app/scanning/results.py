"""What a decoder reports: one read barcode, in a form every caller (CLI, TUI, workflow) shares."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Point", "ScanResult", "Symbology"]

Point = tuple[int, int]


class Symbology(StrEnum):
    """The barcode families a parcel label may carry; the value is the name shown to people and in JSON."""

    CODE128 = "Code128"
    CODE39 = "Code39"
    CODE32 = "Code32"
    ITF = "ITF"
    EAN13 = "EAN13"
    EAN8 = "EAN8"
    UPCE = "UPCE"
    QR_CODE = "QRCode"
    DATA_MATRIX = "DataMatrix"
    PDF417 = "PDF417"
    MAXICODE = "MaxiCode"
    AZTEC = "Aztec"


@dataclass(frozen=True, slots=True)
class ScanResult:
    """One decoded barcode.

    `raw` is exactly what the symbol carried, so nothing is lost to a wrong guess about the
    encoding; `text` is offered only when those bytes are valid UTF-8. UPC-A is reported in its
    13-digit EAN-13 form (a leading 0), as GS1 defines it. `gs1` is set when the symbol starts
    with FNC1 (GS1-128, GS1 QR/DataMatrix); that leading FNC1 is not in `raw`, and a later FNC1
    appears as ASCII GS (0x1D), as the GS1 General Specifications transmit it.
    """

    symbology: Symbology
    raw: bytes
    polygon: tuple[Point, ...]
    ms: float
    decoder: str
    stage: str
    gs1: bool = False

    @property
    def text(self) -> str | None:
        try:
            return self.raw.decode("utf-8")
        except UnicodeDecodeError:
            return None

    @property
    def rect(self) -> tuple[int, int, int, int]:
        """Bounding box as (left, top, width, height), in the coordinates of the input frame."""
        if not self.polygon:
            return (0, 0, 0, 0)
        xs = [x for x, _ in self.polygon]
        ys = [y for _, y in self.polygon]
        return (min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))
