"""Parcel label images for a scenario, so the driver app's camera path is fed real pictures.

A label is a white ~600x400 PNG like a carrier's thermal label: carrier name, delivery address
block, a QR code and the tracking number as a Code 128 barcode. The barcode is painted with
whole-pixel modules and a generous quiet zone, with no text inside it, because that is what a
decoder reads best; the human-readable tracking number sits well above the bars.

The QR code carries exactly the tracking number, like the bars: the driver app compares whatever
it decodes with the package's barcode, so both symbols on a label must decode to the same text.
The address block is printed as text.
"""

from __future__ import annotations

import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import barcode
import segno
from PIL import Image, ImageDraw, ImageFont

from mock_building.errors import MockBuildingError
from mock_building.scenario.loader import Package, Scenario

__all__ = ["Label", "LabelError", "labels_for", "render_label", "write_label", "write_labels"]

WIDTH, HEIGHT = 600, 400
_MARGIN = 20
_MODULE_PX = 2  # Code 128 module width in pixels
_BAR_HEIGHT = 110
_QUIET_PX = 24  # >= 10 modules, as the Code 128 spec asks


class LabelError(MockBuildingError):
    """A package cannot be printed on a label (its tracking number is too long for the bars)."""

    reason = "label_too_long"


@dataclass(frozen=True)
class Label:
    """What goes on one package's label."""

    package_id: str
    tracking: str
    carrier: str
    address_lines: tuple[str, ...]


def labels_for(scenario: Scenario) -> tuple[Label, ...]:
    """One label per package of every route, addressed to its stop's building and unit."""
    labels: list[Label] = []
    for route in scenario.routes:
        driver = next(d for d in scenario.drivers if d.id == route.driver)
        carrier = scenario.carrier(driver.carrier).name
        for stop in route.stops:
            building = scenario.building(stop.building)
            for package in stop.packages:
                address = _address_lines(package, building.name, stop.address)
                labels.append(Label(package.id, package.barcode, carrier, address))
    return tuple(labels)


def _address_lines(package: Package, building_name: str, address: str) -> tuple[str, ...]:
    unit = (f"Unit {package.unit}",) if package.unit else ()
    return (*unit, building_name, address)


def render_label(label: Label) -> Image.Image:
    """Draw one label; raises LabelError if the tracking number does not fit the label width."""
    image = Image.new("L", (WIDTH, HEIGHT), 255)
    draw = ImageDraw.Draw(image)
    big, small = ImageFont.load_default(28), ImageFont.load_default(18)
    draw.text((_MARGIN, _MARGIN), label.carrier, font=big, fill=0)
    draw.line((_MARGIN, 62, WIDTH - _MARGIN, 62), fill=0, width=3)
    draw.text((_MARGIN, 74), "SHIP TO:", font=small, fill=0)
    for index, line in enumerate(label.address_lines):
        draw.text((_MARGIN, 100 + index * 24), line, font=small, fill=0)

    qr = _qr_image(label.tracking)
    image.paste(qr, (WIDTH - _MARGIN - qr.width, 70))

    bars = _code128_image(label.tracking)
    top = HEIGHT - _MARGIN - bars.height
    draw.text((_MARGIN, top - 30), f"TRACKING # {label.tracking}", font=small, fill=0)
    image.paste(bars, ((WIDTH - bars.width) // 2, top))
    return image


def _qr_image(payload: str) -> Image.Image:
    buffer = io.BytesIO()
    segno.make_qr(payload, error="m").save(buffer, kind="png", scale=3, border=4)
    buffer.seek(0)
    return Image.open(buffer).convert("L")


def _code128_image(text: str) -> Image.Image:
    """python-barcode encodes; we paint whole-pixel modules ourselves so no bar is resampled."""
    modules = barcode.get("code128", text).build()[0]
    width = len(modules) * _MODULE_PX + 2 * _QUIET_PX
    if width > WIDTH:
        raise LabelError(f"tracking number {text!r} is too long for a {WIDTH} px label")
    image = Image.new("L", (width, _BAR_HEIGHT), 255)
    draw = ImageDraw.Draw(image)
    for index, module in enumerate(modules):
        if module == "1":
            x = _QUIET_PX + index * _MODULE_PX
            draw.rectangle((x, 0, x + _MODULE_PX - 1, _BAR_HEIGHT - 1), fill=0)
    return image


def write_label(label: Label, out_dir: Path) -> Path:
    """Write `out_dir/<package_id>.png` atomically (a private temporary file, then a rename), so
    two writers of the same label (`up`'s background renderer and an on-demand request) never
    leave or serve a half-written image."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{label.package_id}.png"
    with tempfile.NamedTemporaryFile(dir=out_dir, prefix=f".{path.name}.", delete=False) as partial:
        render_label(label).save(partial, format="PNG")
    os.replace(partial.name, path)
    return path


def write_labels(scenario: Scenario, out_dir: Path) -> list[Path]:
    """Write `out_dir/<package_id>.png` for every package; returns the paths written."""
    return [write_label(label, out_dir) for label in labels_for(scenario)]
