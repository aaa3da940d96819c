"""A broken scenario or state directory is one line naming file, line and key; exit code 2."""

from __future__ import annotations

from pathlib import Path

from mock_building.cli import main
from mock_building.scenario.loader import default_scenario_path


def _variant(tmp_path: Path, old: str, new: str) -> Path:
    text = default_scenario_path().read_text()
    assert old in text
    path = tmp_path / "scenario.toml"
    path.write_text(text.replace(old, new, 1))
    return path


def _line_of(path: Path, start: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if line.startswith(start))


def test_misspelt_key_names_file_line_and_suggests(tmp_path, capsys) -> None:
    path = _variant(tmp_path, "\ntimezone = ", "\ntimzone = ")
    assert main(["labels", "--scenario", str(path), "--out", str(tmp_path / "l")]) == 2
    line = _line_of(path, "timzone")
    assert capsys.readouterr().err == (
        f"mock-building: error [invalid_scenario]: {path}:{line}: "
        "timzone: unknown key (did you mean 'timezone'?)\n"
    )


def test_misspelt_required_key_points_at_the_misspelling(tmp_path, capsys) -> None:
    path = _variant(tmp_path, "\nseed = ", "\nsed = ")
    assert main(["labels", "--scenario", str(path), "--out", str(tmp_path / "l")]) == 2
    line = _line_of(path, "sed ")
    assert f"{path}:{line}: sed: unknown key (did you mean 'seed'?)" in capsys.readouterr().err


def test_invalid_toml_names_the_line(tmp_path, capsys) -> None:
    path = tmp_path / "s.toml"
    path.write_text('seed = "x"\nversion = \n')
    assert main(["labels", "--scenario", str(path), "--out", str(tmp_path / "l")]) == 2
    assert capsys.readouterr().err.startswith(
        f"mock-building: error [invalid_scenario]: {path}:2: not valid TOML"
    )


def test_data_dir_under_a_regular_file_is_a_clean_error(tmp_path, capsys) -> None:
    (tmp_path / "afile").write_text("")
    code = main(
        ["up", "--headless", "--port", "0", "--radio-port", "0", "--data-dir", str(tmp_path / "afile" / "x")]
    )
    assert code == 2
    assert capsys.readouterr().err.endswith(": Not a directory\n")
