"""`driver-app scan --json`: one JSON object per file, a clear error and non-zero exit for unreadable files."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import segno

from driver_app.adapters.scanning import cli as scan_cli
from driver_app.cli import build_parser


def _run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = scan_cli.run(build_parser().parse_args(["scan", *argv]), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_json_lines_for_a_directory_sorted(tmp_path: Path) -> None:
    segno.make_qr("TRACK-1").save(str(tmp_path / "b.png"), scale=5)
    (tmp_path / "a.png").write_bytes((tmp_path / "b.png").read_bytes())
    import cv2
    import numpy as np

    cv2.imwrite(str(tmp_path / "c.jpg"), np.full((100, 100, 3), 255, np.uint8))
    (tmp_path / "notes.txt").write_text("ignored")
    code, out, err = _run([str(tmp_path), "--json"])
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert [Path(line["file"]).name for line in lines] == ["a.png", "b.png", "c.jpg"]
    assert lines[0]["results"][0]["format"] == "QRCode" and lines[0]["results"][0]["text"] == "TRACK-1"
    assert lines[2]["results"] == [] and lines[2]["ms"] >= 0


def test_unreadable_files_give_a_reason_and_nonzero_exit(tmp_path: Path) -> None:
    (tmp_path / "broken.png").write_bytes(b"not a png")
    code, out, err = _run([str(tmp_path / "broken.png"), str(tmp_path / "missing.webp")])
    assert code != 0 and out == ""
    assert "[not_an_image]" in err and "[no_such_file]" in err


def test_json_has_one_line_per_file_failures_included(tmp_path: Path) -> None:
    (tmp_path / "broken.png").write_bytes(b"not a png")
    segno.make_qr("TRACK-2").save(str(tmp_path / "good.png"), scale=5)
    code, out, err = _run(
        [str(tmp_path / name) for name in ("broken.png", "missing.webp", "good.png")] + ["--json"]
    )
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 1 and err == ""
    assert [(Path(line["file"]).name, line.get("error", {}).get("code")) for line in lines] == [
        ("broken.png", "not_an_image"),
        ("missing.webp", "no_such_file"),
        ("good.png", None),
    ]
    assert "missing.webp" in lines[1]["error"]["message"]
    assert [r["text"] for r in lines[2]["results"]] == ["TRACK-2"]


def test_folders_are_scanned_recursively_unless_told_not_to(tmp_path: Path) -> None:
    nested = tmp_path / "day1" / "van2"
    nested.mkdir(parents=True)
    segno.make_qr("TOP").save(str(tmp_path / "top.png"), scale=5)
    segno.make_qr("DEEP").save(str(nested / "deep.png"), scale=5)
    (tmp_path / "empty").mkdir()
    code, out, _ = _run([str(tmp_path), "--json"])
    found = [
        (Path(line["file"]).relative_to(tmp_path).as_posix(), line["results"][0]["text"])
        for line in map(json.loads, out.splitlines())
    ]
    assert code == 0 and found == [("day1/van2/deep.png", "DEEP"), ("top.png", "TOP")]
    code, out, _ = _run([str(tmp_path), "--json", "--no-recursive"])
    files = [json.loads(line)["file"] for line in out.splitlines()]
    assert code == 0 and files == [str(tmp_path / "top.png")]
    code, out, _ = _run([str(tmp_path / "empty"), "--json"])
    assert code == 1 and json.loads(out)["error"]["code"] == "no_images_in_folder"


def test_a_broken_video_leaves_no_ffmpeg_noise_on_stderr(tmp_path: Path) -> None:
    """FFmpeg logs straight to fd 2, so only a fresh process shows whether it was silenced."""
    (tmp_path / "cut.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(64))
    done = subprocess.run(
        [sys.executable, "-m", "driver_app.cli", "scan", str(tmp_path / "cut.mp4"), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1 and done.stderr == ""
    assert json.loads(done.stdout)["error"]["code"] == "cannot_open_video"


def test_human_output_escapes_hostile_text(tmp_path: Path) -> None:
    segno.make_qr("A\x1b[31mB").save(str(tmp_path / "q.png"), scale=5)
    code, out, _ = _run([str(tmp_path / "q.png")])
    assert code == 0 and "QRCode" in out and "A\\x1b[31mB" in out and "\x1b" not in out
