"""The camera path in the TUI: real pipeline on generated labels, half-block preview, latest frame only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import segno
from rich.color_triplet import ColorTriplet
from rich.segment import Segment

from driver_app.adapters.camera_source import OpenCvCamera, frames_of
from driver_app.core.ports import ScanSource
from driver_app.core.state import ScanVerdictKind, StopPhase
from driver_app.tui.widgets.camera import CameraPanel
from driver_app.tui.widgets.preview import CameraPreview, downscale, fit, half_block_strip
from tests.label_images import render_label
from tests.tui_fakes import make_rig, open_first_stop


def label_folder(tmp_path: Path, *texts: str) -> Path:
    for i, text in enumerate(texts):
        segno.make_qr(text).save(str(tmp_path / f"{i:02d}.png"), scale=6, border=4)
    return tmp_path


def colours(segment: Segment) -> tuple[ColorTriplet, ColorTriplet]:
    """A half-block's front (upper pixel) and back (lower pixel) colours; a preview cell has both."""
    style = segment.style
    assert style is not None and style.color is not None and style.bgcolor is not None
    front, behind = style.color.triplet, style.bgcolor.triplet
    assert front is not None and behind is not None
    return front, behind


def test_half_blocks_put_the_upper_pixel_in_front_and_the_lower_behind() -> None:
    frame = np.zeros((40, 20, 3), np.uint8)
    frame[:10] = (0, 0, 255)  # BGR red: the top quarter
    frame[10:20] = (255, 0, 0)  # blue: the second quarter
    pixels = downscale(frame, cols=4, rows=2)
    assert pixels.shape == (4, 4, 3)
    first_row = half_block_strip(pixels, 0)
    assert first_row.text == "▀▀▀▀"
    assert colours(next(iter(first_row))) == ((255, 0, 0), (0, 0, 255))
    front, behind = colours(next(iter(half_block_strip(pixels, 1))))
    assert front == (0, 0, 0) == behind


def test_the_preview_keeps_the_frame_aspect_ratio() -> None:
    assert fit(640, 480, cols=40, rows=8) == (21, 8)  # height-bound: 16 pixel rows → 21 columns
    assert fit(1920, 480, cols=40, rows=8) == (40, 5)  # width-bound: 40 columns → 10 pixel rows
    assert fit(10, 5000, cols=40, rows=8) == (1, 8)


def test_grey_frames_are_previewed_too() -> None:
    assert downscale(np.full((30, 30), 200, np.uint8), cols=3, rows=1).shape == (2, 3, 3)


def test_a_newer_frame_replaces_a_pending_one_but_reads_never_do() -> None:
    older, newer = CameraPanel.FrameReady(np.zeros(1)), CameraPanel.FrameReady(np.ones(1))
    assert older.can_replace(newer)
    assert not older.can_replace(CameraPanel.Read(None))  # type: ignore[arg-type]


def test_folder_source_holds_each_still_for_confirmation(tmp_path: Path) -> None:
    camera = OpenCvCamera(str(label_folder(tmp_path, "LK100001", "LK100002")), fps=None)
    reads = [scan.text for frame in camera.frames() for scan in camera.reads(frame)]
    assert reads == ["LK100001", "LK100002"]  # each confirmed once, in order
    assert len(list(frames_of(str(tmp_path)))) == 10


async def test_camera_scan_on_the_stop_screen(tmp_path: Path) -> None:
    folder = label_folder(tmp_path, "LK100001")
    rig = make_rig(camera=lambda: OpenCvCamera(str(folder), fps=None))
    async with rig.app.run_test(size=(40, 20)) as pilot:
        await open_first_stop(pilot)
        # the camera starts by itself on a stop with parcels to scan
        await rig.app.workers.wait_for_complete()
        await pilot.pause()
        await rig.app.workers.wait_for_complete()
        await pilot.pause()
        scan, _verdict = rig.last_scan
        assert (scan.source, scan.text, scan.symbology) == (ScanSource.CAMERA, "LK100001", "QRCode")
        assert rig.workflow.state.stops["S1"].phase is StopPhase.SCANNED
        preview = rig.app.screen.query_one(CameraPreview)
        width, height = preview.content_size
        cols, rows = fit(1, 1, width, height)  # a QR label image is square
        line = preview.render_line(0).text
        assert len(line) == width and line.strip() == "▀" * cols
        assert line.index("▀") == (width - cols) // 2  # centred
        assert preview.render_line(rows).text.strip() == ""


async def test_no_camera_device_is_a_status_line_not_a_crash() -> None:
    rig = make_rig(camera=lambda: OpenCvCamera("7", fps=None))
    async with rig.app.run_test(size=(80, 24)) as pilot:
        await open_first_stop(pilot)
        # the camera starts by itself on a stop with parcels to scan
        await rig.app.workers.wait_for_complete()
        await pilot.pause()
        assert rig.app.is_running
        panel = rig.app.screen.query_one(CameraPanel)
        assert not panel.running and panel.display
        status = str(panel.query_one("#camera-status").render())
        assert status.startswith("Camera failed: The camera or video cannot be opened")
        assert "camera 7: cannot open video" in status


async def test_camera_action_hidden_without_a_camera() -> None:
    rig = make_rig(camera=None)
    async with rig.app.run_test(size=(40, 20)) as pilot:
        await open_first_stop(pilot)
        assert not rig.app.screen.check_action("camera", ())


async def test_a_label_whose_other_code_is_not_on_the_route_still_scans_its_parcel(tmp_path: Path) -> None:
    """The Code 128 is a carrier's internal number, the QR code the route's parcel: no "not on route"."""
    render_label(tmp_path / "label.png", "CARRIER99X", qr_text="LK100001")
    rig = make_rig(camera=lambda: OpenCvCamera(str(tmp_path), fps=None))
    async with rig.app.run_test(size=(40, 20)) as pilot:
        await open_first_stop(pilot)
        await pilot.press("k")
        await rig.app.workers.wait_for_complete()
        await pilot.pause()
        await rig.app.workers.wait_for_complete()
        await pilot.pause()
        scan, verdict = rig.last_scan
        assert {scan.text, *scan.others} == {"CARRIER99X", "LK100001"}
        assert verdict.kind is ScanVerdictKind.MATCHED and verdict.package_id is not None
        assert rig.workflow.state.stops["S1"].phase is StopPhase.SCANNED
