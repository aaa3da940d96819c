"""The running mock building's live view shows open alerts until the manager acknowledges them."""

from __future__ import annotations

import io

import httpx

from mock_building.building.live_view import HeadlessLog, make_console, render_view
from mock_building.building.running import BuildingSettings, start_building
from mock_building.cli import build_parser
from protocol.api import b64url_encode
from protocol.reasons import Outcome, ReasonCode
from protocol.receipt import GENESIS_HASH, Receipt, sign_receipt
from tests.noon_clock import NoonClock

MANAGER_ELM = {"Authorization": "Bearer demo-manager-elm12"}  # the demo scenario's manager of elm12


async def test_open_alerts_are_in_the_live_view_and_the_headless_log(building) -> None:
    running, _ = building
    forced = Receipt("ELM-N", 0, GENESIS_HASH, None, Outcome.ALERT, ReasonCode.DOOR_FORCED, 1_800_000_000)
    blob = sign_receipt(forced, running.scenario.door("ELM-N").private_key)
    async with httpx.AsyncClient(base_url=running.url, timeout=10) as http:
        tokens = (
            await http.post("/v1/auth/sign-in", json={"driver_id": "demo", "password": "demo-password"})
        ).json()
        uploaded = await http.post(
            "/v1/receipts",
            json={"receipts": [b64url_encode(blob)]},
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
        )
        assert uploaded.status_code == 200, uploaded.text

        [alert] = (await running.view()).alerts
        assert (alert.door_id, alert.kind, alert.severity) == ("ELM-N", "door_forced", "critical")
        out = io.StringIO()
        console = make_console(out)
        console.width = 160
        console.print(render_view(await running.view()))
        assert "OPEN ALERTS (1)" in out.getvalue() and "door_forced" in out.getvalue()
        log_out = io.StringIO()
        log = HeadlessLog(log_out)
        log.update(await running.view())
        log.update(await running.view())
        assert [line for line in log_out.getvalue().splitlines() if line.startswith("ALERT")] == [
            f"ALERT {alert.raised_at} building=elm12 door=ELM-N door_forced severity=critical"
        ]

        acked = await http.post(
            f"/v1/alerts/{alert.id}/acknowledgement", json={"note": "seen"}, headers=MANAGER_ELM
        )
        assert acked.status_code == 200, acked.text
    assert (await running.view()).alerts == ()


async def test_the_gap_alert_time_is_set_from_the_command_line(tmp_path) -> None:
    args = build_parser().parse_args(["up", "--gap-alert-minutes", "0", "--grant-margin-minutes", "90"])
    assert (args.gap_alert_minutes, args.grant_margin_minutes) == (0, 90)
    running = await start_building(
        BuildingSettings(data_dir=tmp_path / "b", port=0, radio_port=0, gap_alert_after_s=0),
        base_clock=NoonClock(),
    )
    try:
        key = running.scenario.door("ELM-S").private_key
        first = sign_receipt(
            Receipt("ELM-S", 0, GENESIS_HASH, None, Outcome.REFUSED, ReasonCode.MALFORMED, 1), key
        )
        third = sign_receipt(
            Receipt("ELM-S", 2, bytes(32), None, Outcome.REFUSED, ReasonCode.MALFORMED, 3), key
        )
        async with httpx.AsyncClient(base_url=running.url, timeout=10) as http:
            tokens = (
                await http.post("/v1/auth/sign-in", json={"driver_id": "demo", "password": "demo-password"})
            ).json()
            uploaded = await http.post(
                "/v1/receipts",
                json={"receipts": [b64url_encode(first), b64url_encode(third)]},
                headers={"Authorization": f"Bearer {tokens['access_token']}"},
            )
            assert uploaded.json()["gaps"] == [{"door_id": "ELM-S", "first_seq": 1, "last_seq": 1}]
        assert [(a.door_id, a.kind) for a in (await running.view()).alerts] == [("ELM-S", "receipt_gap")]
    finally:
        await running.stop()
