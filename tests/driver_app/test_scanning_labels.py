"""Every code on a label: all symbols of a frame are returned, and two agreeing symbols confirm each other."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import segno
from PIL import Image

from driver_app.adapters.scanning import cli as scan_cli
from driver_app.adapters.scanning.confirm import Confirmer, agree
from driver_app.adapters.scanning.merge import cross_checked, merge
from driver_app.adapters.scanning.pipeline import ScanPipeline, build_pipeline
from driver_app.adapters.scanning.results import ScanResult, Symbology
from driver_app.adapters.scanning.sources import load_image
from driver_app.cli import build_parser
from tests.label_images import render_label

zxingcpp = pytest.importorskip("zxingcpp")


def _parcel_label(tmp_path: Path) -> Path:
    """Code 128 tracking number, a QR routing code and a DataMatrix with the carrier's data."""
    path = render_label(tmp_path / "label.png", "1Z999AA10123456784", qr_text="ROUTE 7 / SORT B12")
    matrix = zxingcpp.create_barcode("CARRIER:PARCELCO", zxingcpp.BarcodeFormat.DataMatrix)
    label = Image.open(path)
    label.paste(Image.fromarray(np.asarray(zxingcpp.write_barcode_to_image(matrix, scale=5))), (40, 250))
    label.save(path)
    return path


def _run(argv: list[str]) -> tuple[int, list[dict[str, Any]]]:
    out, err = io.StringIO(), io.StringIO()
    code = scan_cli.run(build_parser().parse_args(["scan", *argv]), out=out, err=err)
    return code, [json.loads(line) for line in out.getvalue().splitlines()]


def test_every_symbol_on_a_label_is_returned(tmp_path: Path) -> None:
    frame = load_image(_parcel_label(tmp_path))
    live = build_pipeline()  # on a busy machine the two decoders may take turns: two frames
    for found in (
        {(r.symbology, r.raw) for r in build_pipeline().scan(frame)},
        {(r.symbology, r.raw) for _ in range(2) for r in live.scan_live(frame)},
    ):
        assert found == {
            (Symbology.CODE128, b"1Z999AA10123456784"),
            (Symbology.QR_CODE, b"ROUTE 7 / SORT B12"),
            (Symbology.DATA_MATRIX, b"CARRIER:PARCELCO"),
        }


def test_scan_json_lists_every_symbol_and_no_zxing_still_reads_what_zbar_can(tmp_path: Path) -> None:
    label = str(_parcel_label(tmp_path))
    code, [line] = _run([label, "--json"])
    assert code == 0
    assert {(r["format"], r["text"]) for r in line["results"]} == {
        ("Code128", "1Z999AA10123456784"),
        ("QRCode", "ROUTE 7 / SORT B12"),
        ("DataMatrix", "CARRIER:PARCELCO"),
    }
    code, [line] = _run([label, "--json", "--no-zxing"])
    assert code == 0
    assert {r["format"] for r in line["results"]} == {"Code128", "QRCode"}


def test_both_decoders_reading_one_symbol_report_it_once() -> None:
    segno.make_qr("PKG-77").save(buffer := io.BytesIO(), kind="png", scale=6, border=6)
    frame = np.asarray(Image.open(buffer).convert("L"))
    [result] = build_pipeline().scan(frame)
    assert result.raw == b"PKG-77" and set(result.decoder.split("+")) == {"zbar", "zxing"}


def test_without_zxing_no_zxing_stage_is_planned() -> None:
    label = np.asarray(
        zxingcpp.write_barcode_to_image(
            zxingcpp.create_barcode("PKG-42", zxingcpp.BarcodeFormat.DataMatrix), scale=6
        )
    )
    frame = np.pad(label, 60, constant_values=255)
    assert ScanPipeline().scan(frame) == [] and ScanPipeline().scan_live(frame) == []
    assert [r.raw for r in build_pipeline(zxing=False).scan(frame)] == []
    assert [r.raw for r in build_pipeline().scan(frame)] == [b"PKG-42"]


def _read(symbology: Symbology, raw: bytes, at: int = 0) -> ScanResult:
    polygon = ((at, 0), (at + 100, 0), (at + 100, 50), (at, 50))
    return ScanResult(symbology=symbology, raw=raw, polygon=polygon, ms=1.0, decoder="zbar", stage="gray")


def test_agreement_needs_two_different_symbols_with_the_same_data() -> None:
    bars = _read(Symbology.CODE128, b"1Z999AA10123456784")
    qr = _read(Symbology.QR_CODE, b"1Z999AA10123456784", 200)
    maxicode = _read(Symbology.MAXICODE, b"[)>\x1e01\x1d961Z999AA10123456784\x1dUPSN", 400)
    assert agree(bars, qr) and agree(bars, maxicode)
    assert not agree(bars, _read(Symbology.CODE128, b"1Z999AA10123456784", 0))  # one symbol read twice
    assert agree(bars, _read(Symbology.CODE128, b"1Z999AA10123456784", 300))  # a second label copy
    assert not agree(_read(Symbology.CODE128, b"1234"), _read(Symbology.QR_CODE, b"X1234Y", 200))  # too short
    assert not agree(bars, _read(Symbology.QR_CODE, b"1Z999AA10123456785", 200))


def test_agreeing_symbols_confirm_at_once_disagreeing_ones_wait_for_a_second_frame() -> None:
    bars, qr = _read(Symbology.CODE128, b"TRK00012345"), _read(Symbology.QR_CODE, b"TRK00012345", 200)
    assert Confirmer().feed([bars, qr]) == [bars, qr]
    other = _read(Symbology.QR_CODE, b"ROUTING-42", 200)
    confirmer = Confirmer()
    assert confirmer.feed([bars, other]) == []
    assert confirmer.feed([bars, other]) == [bars, other]
    assert confirmer.feed([bars, other]) == []  # the label was reported, with all its symbols


def test_a_symbol_seen_only_in_an_earlier_frame_comes_along_with_the_confirmed_one() -> None:
    """One decoder caught the route's QR code in one frame only; the label still carries it."""
    bars, qr = _read(Symbology.CODE128, b"CARRIER-INTERNAL-7"), _read(Symbology.QR_CODE, b"TRK0001", 200)
    confirmer = Confirmer()
    assert confirmer.feed([bars, qr]) == []
    assert confirmer.feed([bars]) == [bars, qr]


def test_one_sided_misread_patterns_need_the_other_decoder() -> None:
    def read(symbology: Symbology, raw: bytes, decoder: str) -> ScanResult:
        return replace(_read(symbology, raw), decoder=decoder)

    partial_itf = read(Symbology.ITF, b"347484", "zxing")  # a fragment of a skewed ITF-14
    assert cross_checked([partial_itf]) == []
    assert cross_checked([read(Symbology.ITF, b"347484", "zxing+zbar")]) != []
    assert cross_checked([read(Symbology.ITF, b"00012345678905", "zxing")]) != []  # ITF-14, check digit valid
    assert cross_checked([read(Symbology.UPCE, b"01711840", "zbar")]) == []
    whole = read(Symbology.ITF, b"17954603347484", "zbar")
    assert merge([partial_itf], [whole]) == [whole]  # at the same place, the one-sided read gives way
    assert merge([whole], [partial_itf]) == [whole]


def test_symbols_from_older_frames_do_not_ride_along() -> None:
    earlier_label = _read(Symbology.QR_CODE, b"TRK0009", 300)  # glimpsed three frames ago, never confirmed
    bars, qr = _read(Symbology.CODE128, b"TRK00012345"), _read(Symbology.QR_CODE, b"TRK00012345", 200)
    confirmer = Confirmer()
    for frame in ([earlier_label], [], []):
        assert confirmer.feed(frame) == []
    assert confirmer.feed([bars, qr]) == [bars, qr]
