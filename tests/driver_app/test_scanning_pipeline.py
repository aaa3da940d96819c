"""The staged decoder on generated labels (rotated, blurred, low contrast, inverted) and real photos."""

from __future__ import annotations

import io
from pathlib import Path

import barcode
import cv2
import numpy as np
import pytest
import segno
from barcode.writer import ImageWriter

from driver_app.adapters.scanning import zxing_decoder
from driver_app.adapters.scanning.checks import gs1_check_digit_ok, is_plausible
from driver_app.adapters.scanning.code32 import as_code32
from driver_app.adapters.scanning.confirm import Confirmer
from driver_app.adapters.scanning.pipeline import ScanPipeline
from driver_app.adapters.scanning.results import ScanResult, Symbology
from driver_app.adapters.scanning.sources import load_image
from tests.label_images import gray

SHARED = Path(__file__).parents[3] / "shared" / "barcodes"


def _code128(text: str) -> np.ndarray:
    buffer = io.BytesIO()
    barcode.get("code128", text, writer=ImageWriter()).write(
        buffer, {"module_width": 0.3, "write_text": False}
    )
    return gray(buffer.getvalue())


def _qr(text: str) -> np.ndarray:
    buffer = io.BytesIO()
    segno.make_qr(text).save(buffer, kind="png", scale=4, border=4)
    return gray(buffer.getvalue())


def _on_canvas(label: np.ndarray, size: tuple[int, int] = (480, 640)) -> np.ndarray:
    canvas = np.full(size, 200, np.uint8)
    h, w = label.shape
    y, x = (size[0] - h) // 2, (size[1] - w) // 2
    canvas[y : y + h, x : x + w] = label
    return canvas


def _rotated(image: np.ndarray, degrees: float) -> np.ndarray:
    h, w = image.shape
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(image, matrix, (w, h), borderValue=200)


TRACKING = "1Z999AA10123456784"


@pytest.fixture(scope="module")
def pipeline() -> ScanPipeline:
    return ScanPipeline()  # still images: a work budget, so results never depend on machine speed


def _texts(pipeline: ScanPipeline, frame: np.ndarray) -> list[bytes]:
    return [r.raw for r in pipeline.scan(frame)]


def test_plain_code128_label_is_read_with_position_and_time(pipeline: ScanPipeline) -> None:
    frame = _on_canvas(cv2.resize(_code128(TRACKING), None, fx=0.5, fy=0.5))
    [result] = pipeline.scan(frame)
    assert result.symbology is Symbology.CODE128
    assert result.text == TRACKING and result.ms > 0
    left, top, width, height = result.rect
    assert 0 <= left < 320 < left + width and top <= 240 <= top + height


@pytest.mark.parametrize(
    "distort",
    [
        pytest.param(lambda f: _rotated(f, 30), id="rotated-30"),
        pytest.param(lambda f: _rotated(f, 45), id="rotated-45"),
        pytest.param(lambda f: cv2.GaussianBlur(f, (3, 3), 0), id="blurred"),
        pytest.param(lambda f: (f.astype(np.float32) * 0.15 + 110).astype(np.uint8), id="low-contrast"),
        pytest.param(lambda f: 255 - f, id="inverted"),
    ],
)
def test_distorted_labels_are_still_read(pipeline: ScanPipeline, distort) -> None:
    frame = distort(_on_canvas(cv2.resize(_code128(TRACKING), None, fx=0.5, fy=0.5)))
    assert TRACKING.encode() in _texts(pipeline, frame)


@pytest.mark.parametrize("degrees", [0, 30, 180])
def test_qr_code_is_read_in_any_orientation(pipeline: ScanPipeline, degrees: float) -> None:
    frame = _rotated(_on_canvas(_qr("PARCEL:4711:Hausnr.12")), degrees)
    assert _texts(pipeline, frame) == [b"PARCEL:4711:Hausnr.12"]


@pytest.mark.parametrize(
    "frame",
    [
        pytest.param(np.full((480, 640), 255, np.uint8), id="blank"),
        pytest.param(np.random.default_rng(7).integers(0, 256, (480, 640), dtype=np.uint8), id="noise"),
        pytest.param(np.tile(np.repeat([0, 255], 3).astype(np.uint8), (120, 40)), id="stripes"),
        pytest.param(np.zeros((0, 0), np.uint8), id="empty"),
    ],
)
def test_frames_without_a_barcode_yield_nothing(pipeline: ScanPipeline, frame: np.ndarray) -> None:
    assert pipeline.scan(frame) == []


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared barcode photos not present")
@pytest.mark.parametrize(
    "name",
    [
        "code128-1/1.png",
        "ean13-1/20.webp",
        "upca-1/2.webp",
        "itf-1/1.webp",
        "qrcode-5/16.png",
        "code39-1/code32-1.png",
    ],
)
def test_real_photos_are_read_exactly(pipeline: ScanPipeline, name: str) -> None:
    path = SHARED / name
    assert path.with_suffix(".txt").read_bytes() in _texts(pipeline, load_image(path))


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared barcode photos not present")
def test_real_false_positive_photos_yield_nothing(pipeline: ScanPipeline) -> None:
    for path in sorted((SHARED / "falsepositives-1").iterdir())[:6]:
        assert pipeline.scan(load_image(path)) == [], path


def test_gs1_flag_is_reported_for_gs1_128(pipeline: ScanPipeline) -> None:
    buffer = io.BytesIO()
    barcode.get("gs1_128", "0101234567890128", writer=ImageWriter()).write(buffer, {"write_text": False})
    frame = gray(buffer.getvalue())
    [result] = pipeline.scan(frame)
    assert result.gs1 and result.raw == b"0101234567890128"


def test_without_zxing_the_pipeline_degrades_to_zbar(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str):
        raise ImportError(f"No module named {name!r}")

    monkeypatch.setattr(zxing_decoder.importlib, "import_module", missing)
    assert zxing_decoder.load_zxing() is None
    pipeline = ScanPipeline(second=zxing_decoder.load_zxing())
    assert _texts(pipeline, _on_canvas(_qr("still works"))) == [b"still works"]


def test_zxing_extra_reads_datamatrix_when_installed() -> None:
    zxingcpp = pytest.importorskip("zxingcpp")
    label = zxingcpp.write_barcode_to_image(
        zxingcpp.create_barcode("PKG-42", zxingcpp.BarcodeFormat.DataMatrix), scale=6
    )
    frame = _on_canvas(np.asarray(label))
    assert ScanPipeline().scan(frame) == []
    [result] = ScanPipeline(second=zxing_decoder.load_zxing()).scan(frame)
    assert (result.symbology, result.raw, result.decoder) == (Symbology.DATA_MATRIX, b"PKG-42", "zxing")


def _result(symbology: Symbology, raw: bytes) -> ScanResult:
    return ScanResult(symbology=symbology, raw=raw, polygon=(), ms=1.0, decoder="zbar", stage="gray")


def test_check_digits_and_plausibility() -> None:
    assert gs1_check_digit_ok("4006381333931") and not gs1_check_digit_ok("4006381333932")
    assert is_plausible(_result(Symbology.EAN13, b"4006381333931"))
    assert not is_plausible(_result(Symbology.EAN13, b"4006381333932"))
    assert not is_plausible(_result(Symbology.ITF, b"12345"))
    assert is_plausible(_result(Symbology.UPCE, b"04252614"))


def test_code32_is_recognised_only_with_a_valid_check_digit() -> None:
    assert as_code32(b"3PRM8N") == b"A123456788"
    assert as_code32(b"3PRM8P") is None and as_code32(b"ABC123") is None and as_code32(b"TEST-SHEET") is None


def test_confirmation_needs_agreeing_frames() -> None:
    confirmer = Confirmer(repeats=2, window=3)
    good, misread = _result(Symbology.EAN13, b"4006381333931"), _result(Symbology.EAN13, b"4006381333948")
    assert confirmer.feed([misread]) == []
    assert confirmer.feed([good]) == []
    assert confirmer.feed([]) == []
    assert confirmer.feed([good]) == [good]
    assert confirmer.feed([good]) == []  # reported once
    confirmer.reset()
    assert confirmer.feed([good]) == []
