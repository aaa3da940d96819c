"""Budgets and recovery stages: still images are deterministic, live frames share stages out, bars get straightened."""

from __future__ import annotations

import io
from collections.abc import Callable

import barcode
import cv2
import numpy as np
import pytest
import segno
from barcode.writer import ImageWriter

from driver_app.adapters.scanning import zbar_decoder
from driver_app.adapters.scanning.confirm import Confirmer
from driver_app.adapters.scanning.pipeline import PipelineConfig, ScanPipeline
from driver_app.adapters.scanning.regions import candidate_regions
from driver_app.adapters.scanning.results import Symbology
from driver_app.adapters.scanning.zxing_decoder import load_zxing
from tests.label_images import gray

TRACKING = "1Z999AA10123456784"


def _label(kind: str, text: str, module_width: float = 0.3) -> np.ndarray:
    buffer = io.BytesIO()
    barcode.get(kind, text, writer=ImageWriter()).write(
        buffer, {"module_width": module_width, "write_text": False}
    )
    return gray(buffer.getvalue())


def _scene(label: np.ndarray, degrees: float, size: tuple[int, int] = (480, 640)) -> np.ndarray:
    canvas = np.full(size, 200, np.uint8)
    h, w = label.shape
    y, x = (size[0] - h) // 2, (size[1] - w) // 2
    canvas[y : y + h, x : x + w] = label
    matrix = cv2.getRotationMatrix2D((size[1] / 2, size[0] / 2), degrees, 1.0)
    return cv2.warpAffine(canvas, matrix, (size[1], size[0]), borderValue=200)


def _tilted_code128(noise: float = 0.0) -> np.ndarray:
    """Thin bars at 20 degrees: whole-frame scan lines cross too few modules cleanly, a straightened crop reads."""
    frame = _scene(cv2.resize(_label("code128", TRACKING), None, fx=0.5, fy=0.5), 20)
    if noise:
        frame = np.clip(frame + np.random.default_rng(3).normal(0, noise, frame.shape), 0, 255).astype(
            np.uint8
        )
    return frame


class _SlowClock:
    """Every reading is `step_s` later than the last: the machine looks arbitrarily busy."""

    def __init__(self, step_s: float) -> None:
        self.now = 0.0
        self.step_s = step_s

    def __call__(self) -> float:
        self.now += self.step_s
        return self.now


def test_still_images_do_not_depend_on_machine_speed() -> None:
    frame = _tilted_code128(noise=20)
    fast = ScanPipeline().scan(frame)
    slow = ScanPipeline(clock=_SlowClock(1.0)).scan(frame)
    assert (
        [(r.raw, r.stage) for r in slow] == [(r.raw, r.stage) for r in fast] == [(TRACKING.encode(), "bars0")]
    )


def test_work_budget_limits_the_stages_tried() -> None:
    frame = _tilted_code128()
    assert ScanPipeline(PipelineConfig(work_budget=0)).scan(frame) == []  # only the first pass runs
    assert [r.raw for r in ScanPipeline(PipelineConfig(work_budget=700_000)).scan(frame)] == [
        TRACKING.encode()
    ]


def test_live_frames_continue_the_stages_the_last_frame_had_no_time_for() -> None:
    # Each clock reading is 10 ms later: every frame runs its first stage plus the one next due only.
    pipeline = ScanPipeline(PipelineConfig(budget_ms=1.0), clock=_SlowClock(0.010))
    frame = 255 - _tilted_code128()  # inverted and tilted: only a late stage reads it
    reads = [pipeline.scan_live(frame) for _ in range(30)]
    first = next(index for index, found in enumerate(reads) if found)
    assert first >= 3, "the stage that reads it is too far down the list for the first frames"
    assert [r.raw for r in reads[first]] == [TRACKING.encode()]
    # The stage that worked is tried first from then on, so consecutive frames agree (and confirm).
    assert all([r.raw for r in found] == [TRACKING.encode()] for found in reads[first:])
    confirmer = Confirmer()
    assert [r.raw for found in reads for r in confirmer.feed(found)] == [TRACKING.encode()]


def test_live_frames_read_easy_codes_in_their_first_stage() -> None:
    pipeline = ScanPipeline(PipelineConfig(budget_ms=1.0), clock=_SlowClock(1.0))
    frame = _scene(cv2.resize(_label("code128", TRACKING), None, fx=0.5, fy=0.5), 0)
    [result] = pipeline.scan_live(frame)
    assert result.raw == TRACKING.encode() and result.stage == "gray-sparse"


@pytest.mark.parametrize("degrees", [-70, -20, 10, 35, 80])
def test_one_d_regions_report_the_bar_angle(degrees: float) -> None:
    frame = _scene(cv2.resize(_label("code128", TRACKING), None, fx=0.6, fy=0.6), degrees)
    one_d = [region for region in candidate_regions(frame) if region.looks_1d]
    assert one_d, "the label is found as a 1D region"
    error = (one_d[0].gradient_degrees + degrees + 90) % 180 - 90  # rotating by +d turns the gradient to -d
    assert abs(error) < 5


def test_qr_regions_do_not_look_1d() -> None:
    buffer = io.BytesIO()
    segno.make_qr("PARCEL:4711").save(buffer, kind="png", scale=6, border=4)
    qr = gray(buffer.getvalue())
    regions = candidate_regions(_scene(qr, 15))
    assert regions and not any(region.looks_1d for region in regions)


def _itf_tilted_so_lines_cut_through_its_side() -> np.ndarray:
    return _scene(cv2.resize(_label("itf", "27560605799275", module_width=0.2), None, fx=0.5, fy=0.5), 72)


def test_tilted_itf_partial_reads_from_single_scan_lines_are_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    frame = _itf_tilted_so_lines_cut_through_its_side()
    monkeypatch.setattr(zbar_decoder, "_ITF_MIN_QUALITY", 0)
    unguarded = {read.raw for read in zbar_decoder.ZbarDecoder().decode(frame)}
    assert len(unguarded) >= 2, "this frame makes zbar return partial ITF reads"
    monkeypatch.undo()
    reads = zbar_decoder.ZbarDecoder().decode(frame)
    assert all(read.raw == b"27560605799275" for read in reads if read.symbology is Symbology.ITF)


def test_tilted_itf_is_read_whole_or_not_at_all() -> None:
    found = [r.raw for r in ScanPipeline().scan(_itf_tilted_so_lines_cut_through_its_side())]
    assert found in ([], [b"27560605799275"])


@pytest.mark.parametrize(
    "frame",
    [
        pytest.param(
            lambda: np.random.default_rng(11).normal(128, 60, (480, 640)).clip(0, 255).astype(np.uint8),
            id="noise",
        ),
        pytest.param(lambda: np.tile(np.repeat([30, 220], 4).astype(np.uint8), (480, 80)), id="even-stripes"),
        pytest.param(
            lambda: _scene(np.tile(np.repeat([0, 255], [2, 5]).astype(np.uint8), (60, 40)), 25),
            id="tilted-stripes",
        ),
    ],
)
def test_recovery_stages_invent_nothing(frame: Callable[[], np.ndarray]) -> None:
    assert ScanPipeline().scan(frame()) == []


def test_on_a_busy_machine_the_lead_decoders_take_turns() -> None:
    pytest.importorskip("zxingcpp")
    qr = gray(_qr_png("TURNS-1"))
    frame = _scene(qr, 0)
    busy = ScanPipeline(PipelineConfig(budget_ms=1.0), second=load_zxing(), clock=_SlowClock(0.010))
    decoders = [[r.decoder for r in busy.scan_live(frame)] for _ in range(4)]
    assert decoders == [["zxing"], ["zbar"], ["zxing"], ["zbar"]]
    idle = ScanPipeline(second=load_zxing(), clock=lambda: 0.0)  # no time passes: both fit every frame
    assert [r.decoder for r in idle.scan_live(frame)] == ["zxing+zbar"]


def _qr_png(text: str) -> bytes:
    buffer = io.BytesIO()
    segno.make_qr(text).save(buffer, kind="png", scale=5, border=4)
    return buffer.getvalue()
