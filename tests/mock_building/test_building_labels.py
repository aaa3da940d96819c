"""Rendered parcel labels read back through the same decoder the driver app uses (pyzbar on cv2)."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest
from pyzbar.pyzbar import decode

from mock_building.cli import main
from mock_building.scenario.labels import Label, LabelError, labels_for, render_label
from mock_building.scenario.loader import default_scenario_path, load_scenario


def _symbols(path: Path) -> dict[str, bytes]:
    frame = cv2.imread(str(path))
    assert frame is not None
    return {symbol.type: symbol.data for symbol in decode(frame)}


SCENARIOS = sorted(default_scenario_path().parent.glob("*.toml"))


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_labels_command_writes_a_decodable_label_per_package(path: Path, tmp_path: Path) -> None:
    scenario = load_scenario(path)
    expected = {p.id: p.barcode for r in scenario.routes for s in r.stops for p in s.packages}

    assert main(["labels", "--scenario", str(path), "--out", str(tmp_path)]) == 0

    assert sorted(p.stem for p in tmp_path.glob("*.png")) == sorted(expected)
    for package_id, tracking in expected.items():
        symbols = _symbols(tmp_path / f"{package_id}.png")
        assert symbols["CODE128"] == tracking.encode()
        assert symbols["QRCODE"] == tracking.encode()


def test_label_is_addressed_to_the_stop_and_both_symbols_carry_only_the_tracking_number() -> None:
    scenario = load_scenario(default_scenario_path())
    label = next(lbl for lbl in labels_for(scenario) if lbl.package_id == "P2")
    assert label == Label("P2", "1Z999AA10123456791", "ParcelCo", ("Unit 1A", "Oak House", "7 Oak Ave"))
    image = render_label(label)
    assert image.size == (600, 400)
    symbols = sorted((symbol.type, symbol.data) for symbol in decode(image))
    assert symbols == [("CODE128", b"1Z999AA10123456791"), ("QRCODE", b"1Z999AA10123456791")]


def test_a_tracking_number_too_long_for_the_label_is_a_clear_error() -> None:
    with pytest.raises(LabelError) as caught:
        render_label(Label("X", "9" * 5 + "A" * 60, "ParcelCo", ("1 Main St",)))
    assert caught.value.reason == "label_too_long"
