"""The operator's view of a running building: literal text, door states, audit lines."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from mock_building.building.fault_client import FaultCommandError, parse_settings
from mock_building.building.live_view import (
    AuditLine,
    BuildingView,
    DoorStatus,
    HeadlessLog,
    literal,
    make_console,
    render_view,
)


def _door(door_id: str = "ELM-N", **changes: object) -> DoorStatus:
    values: dict[str, object] = {
        "door_id": door_id,
        "building": "elm12",
        "name": "North entrance",
        "locked": True,
        "relock_in_s": None,
        "last_outcome": None,
        "last_reason": None,
        "faults": (),
    }
    values.update(changes)
    return DoorStatus(**values)  # type: ignore[arg-type]


def _audit(event_id: int, reason: str = "ok") -> AuditLine:
    at = "2026-11-23T09:00:00+00:00"
    return AuditLine(event_id, at, "elm12", "ELM-N", "S1", "parcelco", "drv-1", "granted", reason)


def _rendered(view: BuildingView) -> str:
    out = io.StringIO()
    console = make_console(out)
    console.width = 160
    console.print(render_view(view))
    return out.getvalue()


def test_render_shows_every_door_with_state_faults_and_the_last_ten_audit_events() -> None:
    view = BuildingView(
        "demo.toml",
        (
            _door(),
            _door(
                "OAK-1",
                name="Main entrance",
                locked=False,
                relock_in_s=4.2,
                last_outcome="unlocked",
                last_reason="ok",
                faults=(("jammed", True), ("slow_ms", 800)),
            ),
        ),
        tuple(_audit(i, f"reason_{i}") for i in range(1, 13)),
    )
    text = _rendered(view)
    assert "North entrance" in text and "locked" in text
    assert "OPEN (4s)" in text and "jammed, slow_ms=800" in text
    assert "reason_12" in text and "reason_3" in text and "reason_2 " not in text
    assert text.index("reason_12") < text.index("reason_3")  # newest first: a short terminal crops the oldest
    assert "access service: no faults" in text


def test_render_shows_service_faults() -> None:
    text = _rendered(BuildingView("t", (_door(),), (), service_faults=(("latency_ms", 1500), ("down", True))))
    assert "access service faults: latency_ms=1500, down" in text


def test_outside_text_is_shown_literally_never_as_markup_or_control_codes() -> None:
    hostile = "[bold red]Door[/]\x1b[2J\x07"
    text = _rendered(BuildingView("t", (_door(name=hostile),), ()))
    assert "[bold red]Door[/]" in text
    assert "\x1b[2J" not in text and "\\x1b[2J" in text
    assert literal("Elm\nCourt") == "Elm\\nCourt"


def test_headless_log_prints_door_changes_and_new_audit_events_once() -> None:
    out = io.StringIO()
    log = HeadlessLog(out)
    log.update(BuildingView("t", (_door(),), (_audit(1),)))
    log.update(BuildingView("t", (_door(),), (_audit(1),)))
    opened = _door(locked=False, last_outcome="unlocked", last_reason="ok")
    log.update(BuildingView("t", (opened,), (_audit(1), _audit(2, "expired"))))
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("audit ") and lines[0].endswith("granted ok")
    assert lines[1] == "door ELM-N open last=unlocked reason=ok faults=-"
    assert lines[2].endswith("granted expired")
    assert len(lines) == 3


def test_headless_log_prints_service_fault_changes() -> None:
    out = io.StringIO()
    log = HeadlessLog(out)
    log.update(BuildingView("t", (), ()))
    log.update(BuildingView("t", (), (), service_faults=(("down", True),)))
    log.update(BuildingView("t", (), (), service_faults=(("down", True),)))
    log.update(BuildingView("t", (), ()))
    assert out.getvalue().splitlines() == ["service faults=down", "service faults=-"]


def test_fault_settings_parse_on_off_and_numbers() -> None:
    assert parse_settings(
        ["jammed=on", "powered_off=OFF", "slow_ms=800", "rssi_dbm=-80", "error_rate=0.25"]
    ) == {
        "jammed": True,
        "powered_off": False,
        "slow_ms": 800,
        "rssi_dbm": -80,
        "error_rate": 0.25,
    }
    for bad in ("jammed", "=on", "slow_ms=fast"):
        with pytest.raises(FaultCommandError) as caught:
            parse_settings([bad])
        assert caught.value.reason == "invalid_request"


def test_live_view_shows_cut_links_and_a_bolted_door_standing_open() -> None:
    door = _door(
        last_outcome="alert",
        last_reason="door_forced",
        faults=(("forced", True),),
        links=1,
        links_dropped=3,
        door_open=True,
    )
    console = Console(width=160, record=True)
    console.print(render_view(BuildingView("t", (door,), ())))
    text = console.export_text()
    assert "1 (3 cut)" in text and "locked, door OPEN" in text
