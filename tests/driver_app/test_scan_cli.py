"""`driver-app scan --json`: one JSON object per file, a clear error and non-zero exit for unreadable files."""

from __future__ import annotations

import io
import json
from pathlib import Path

import segno

from driver_app.cli import build_parser
from driver_app.scanning import cli as scan_cli


def _run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = scan_cli.run(build_parser().parse_args(["scan", *argv]), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_json_lines_for_a_directory_sorted(tmp_path: Path) -> None:
    segno.make_qr("TRACK-1").save(tmp_path / "b.png", scale=5)
    (tmp_path / "a.png").write_bytes((tmp_path / "b.png").read_bytes())
    import numpy as np
    import cv2

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
    code, out, err = _run([str(tmp_path / "broken.png"), str(tmp_path / "missing.webp"), "--json"])
    assert code != 0 and out == ""
    assert "[not_an_image]" in err and "[no_such_file]" in err


def test_human_output_escapes_hostile_text(tmp_path: Path) -> None:
    segno.make_qr("A\x1b[31mB").save(tmp_path / "q.png", scale=5)
    code, out, _ = _run([str(tmp_path / "q.png")])
    assert code == 0 and "QRCode" in out and "A\\x1b[31mB" in out and "\x1b" not in out
