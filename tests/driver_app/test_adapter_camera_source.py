"""The camera path as a BarcodeSource: real label images through the scanner's pipeline."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from driver_app.adapters.camera_source import FrameBarcodeSource, frames_of, still_frames
from driver_app.adapters.scanning.errors import SourceError
from driver_app.adapters.scanning.pipeline import ScanPipeline
from driver_app.adapters.scanning.zxing_decoder import load_zxing
from driver_app.core.errors import WorkflowError
from driver_app.core.messages import known_reasons, notice_for
from driver_app.core.ports import Scan
from tests.label_images import render_label


async def test_a_label_held_steady_is_read_once_and_confirmed(tmp_path: Path) -> None:
    source = FrameBarcodeSource(still_frames(render_label(tmp_path / "p1.png", "1Z999AA10123456784")))
    scans = [await source.next_scan(timeout=5.0), await source.next_scan(timeout=5.0)]
    await source.close()
    texts = {scan.text for scan in scans if scan is not None}
    assert texts == {"1Z999AA10123456784"}
    assert {scan.source for scan in scans if scan} == {"camera"}
    assert {scan.symbology for scan in scans if scan} <= {"Code128", "QRCode"}


async def test_one_frame_is_not_enough_when_the_symbols_disagree(tmp_path: Path) -> None:
    label = render_label(tmp_path / "p.png", "TRK0001", qr_text="ROUTING 42 NORTH")
    source = FrameBarcodeSource(still_frames(label, count=1))
    assert await source.next_scan(timeout=5.0) is None
    await source.close()


async def test_two_symbols_agreeing_confirm_in_one_frame(tmp_path: Path) -> None:
    """The label's Code 128 and QR carry the same tracking number: no second frame is needed.

    The clock stands still, so both decoders get their turn on that frame however busy the machine.
    """
    idle = ScanPipeline(second=load_zxing(), clock=lambda: 0.0)
    frames = still_frames(render_label(tmp_path / "p.png", "TRK0001"), count=1)
    source = FrameBarcodeSource(frames, pipeline=idle)
    scan = await source.next_scan(timeout=5.0)
    await source.close()
    assert scan is not None and scan.text == "TRK0001" and scan.others == ("TRK0001",)
    assert {scan.symbology} <= {"Code128", "QRCode"}


async def test_a_confirmed_label_brings_its_other_symbols(tmp_path: Path) -> None:
    label = render_label(tmp_path / "p.png", "TRK0001", qr_text="ROUTING 42 NORTH")
    source = FrameBarcodeSource(still_frames(label, count=2))
    scan = await source.next_scan(timeout=5.0)
    assert await source.next_scan(timeout=5.0) is None  # the label is reported once, not once per symbol
    await source.close()
    assert scan is not None and {scan.text, *scan.others} == {"TRK0001", "ROUTING 42 NORTH"}


async def test_frames_without_a_barcode_yield_nothing(tmp_path: Path) -> None:
    blank = np.full((400, 600), 255, dtype=np.uint8)
    source = FrameBarcodeSource(iter([blank] * 4))
    assert await source.next_scan(timeout=5.0) is None
    await source.close()


@pytest.mark.parametrize("text", ["TRK\x1b[2J", "[bold]x[/]"])
async def test_hostile_text_arrives_exact_for_matching(tmp_path: Path, text: str) -> None:
    import segno

    path = tmp_path / "q.png"
    segno.make(text, error="m", micro=False).save(str(path), scale=8)
    source = FrameBarcodeSource(still_frames(path))
    scan = await source.next_scan(timeout=5.0)
    await source.close()
    assert scan == Scan(text, "camera", "QRCode")


async def test_close_does_not_wait_for_a_long_read(tmp_path: Path) -> None:
    blank = np.full((400, 600), 255, dtype=np.uint8)
    source = FrameBarcodeSource(iter([blank] * 100_000))
    reading = asyncio.create_task(source.next_scan(timeout=60.0))
    await asyncio.sleep(0)  # let the read start on the worker thread
    await source.close()
    assert await asyncio.wait_for(reading, timeout=5.0) is None
    assert await source.next_scan(timeout=1.0) is None  # closed: nothing more, no error


def test_a_missing_label_is_an_app_error_with_a_drivers_message(tmp_path) -> None:
    with pytest.raises(WorkflowError) as caught:  # one root: callers need no scanner-specific except
        list(frames_of(str(tmp_path / "missing.png")))
    assert isinstance(caught.value, SourceError) and caught.value.reason == "unreadable_file"
    assert caught.value.reason in known_reasons()
    assert notice_for(caught.value.reason).message == "The camera source file cannot be read"
