"""`mock-building up --headless` in a subprocess; a driver in this process signs in over HTTP and
unlocks a door through bleak's public API on the building's radio, then the building stops on SIGTERM.

The tests in this module share one building and run in order: banner, unlock, run-time fault, stop.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from bleak import BleakClient, BleakScanner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from driver_app.adapters.ble_sim import (
    BumbleClientBackend,
    BumbleScannerBackend,
    configure_sim_radio,
    detach_sim_radio,
)
from mock_building.scenario.loader import default_scenario_path, load_scenario
from protocol import Outcome, ReasonCode, build_unlock_request, public_key_bytes, verify_receipt
from protocol.api import b64url_decode, b64url_encode
from protocol.gatt import (
    CHALLENGE_CHAR_UUID,
    RESULT_CHAR_UUID,
    SERVICE_UUID,
    UNLOCK_CHAR_UUID,
    AdvertisedDoor,
    Challenge,
    UnlockResult,
)
from tests.building_process import CHILD_ENV, REPO, up_command

WAIT_S = 20


@dataclass
class BuildingProcess:
    """The subprocess and its stdout, drained by a thread so the pipe never fills."""

    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)
    stderr: str = ""

    def drain(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self.changed:
                self.lines.append(line.rstrip("\n"))
                self.changed.notify_all()
        with self.changed:
            self.lines.append("<eof>")
            self.changed.notify_all()

    def wait_for_line(self, predicate: Callable[[str], bool]) -> str:
        """The first stdout line matching `predicate`, waiting (on the drain thread's notify) for it."""
        with self.changed:
            found = self.changed.wait_for(
                lambda: next((line for line in self.lines if predicate(line) or line == "<eof>"), None),
                WAIT_S,
            )
        assert found and found != "<eof>", f"no such line; stdout so far: {self.lines}"
        return found


@pytest.fixture(scope="module")
def building(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[BuildingProcess, dict]]:
    state = tmp_path_factory.mktemp("building")
    ready_file = state / "ready.json"
    process = subprocess.Popen(
        up_command(state / "data", ready_file=ready_file, fresh=True),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=CHILD_ENV,
    )
    running = BuildingProcess(process)
    threading.Thread(target=running.drain, daemon=True).start()
    try:
        running.wait_for_line(lambda line: line == "ready")
        yield running, json.loads(ready_file.read_text())
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(WAIT_S)


def test_up_prints_url_radio_address_and_demo_credentials(building: tuple[BuildingProcess, dict]) -> None:
    running, ready = building
    radio = f"{ready['radio']['host']}:{ready['radio']['port']}"
    assert ready["url"].startswith("http://127.0.0.1:") and ready["radio"]["port"] > 0
    text = "\n".join(running.lines)
    assert ready["url"] in text and f"{ready['url']}/openapi.json" in text
    assert radio in text
    assert "demo / demo-password" in text
    assert httpx.get(f"{ready['url']}/openapi.json").json()["paths"]


async def _grant(url: str, key: Ed25519PrivateKey) -> tuple[str, bytes, bytes]:
    """Sign in as the demo driver, register `key`, and get a grant for the first stop's first door."""
    async with httpx.AsyncClient(base_url=url, timeout=WAIT_S) as http:
        signed_in = await http.post(
            "/v1/auth/sign-in", json={"driver_id": "demo", "password": "demo-password"}
        )
        signed_in.raise_for_status()
        auth = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
        registered = await http.post(
            "/v1/handheld-keys", json={"public_key": b64url_encode(public_key_bytes(key))}, headers=auth
        )
        registered.raise_for_status()
        route = (await http.get("/v1/routes/today", headers=auth)).json()
        stop = route["stops"][0]
        door_id = stop["building"]["doors"][0]["door_id"]
        granted = await http.post(
            "/v1/grants",
            json={
                "stop_id": stop["stop_id"],
                "door_id": door_id,
                "barcode": stop["packages"][0]["barcode"],
                "handheld_key_id": registered.json()["key_id"],
            },
            headers=auth,
        )
        granted.raise_for_status()
        body = granted.json()  # the grant is sealed for the door: its id comes beside it
        return door_id, b64url_decode(body["grant"]), b64url_decode(body["grant_id"])


async def _unlock(
    radio_port: int, door_id: str, grant: tuple[bytes, bytes], key: Ed25519PrivateKey
) -> UnlockResult:
    """Find the door by its advertisement and run challenge -> request -> indicated result."""
    configure_sim_radio("127.0.0.1", radio_port)
    try:
        device = await BleakScanner.find_device_by_filter(
            lambda _, adv: (
                AdvertisedDoor.from_bytes(adv.service_data[SERVICE_UUID]).door_id == door_id
                if SERVICE_UUID in adv.service_data
                else False
            ),
            timeout=WAIT_S,
            backend=BumbleScannerBackend,
        )
        assert device is not None, f"door {door_id} not found on the radio"
        results: asyncio.Queue[bytes] = asyncio.Queue()
        async with BleakClient(device, backend=BumbleClientBackend) as client:
            await client.start_notify(RESULT_CHAR_UUID, lambda _, data: results.put_nowait(bytes(data)))
            challenge = Challenge.from_bytes(bytes(await client.read_gatt_char(CHALLENGE_CHAR_UUID)))
            request = build_unlock_request(grant[0], key, challenge.nonce, door_id, grant_id=grant[1])
            await client.write_gatt_char(UNLOCK_CHAR_UUID, request, response=True)
            return UnlockResult.from_bytes(await asyncio.wait_for(results.get(), WAIT_S))
    finally:
        await detach_sim_radio()


async def test_a_driver_in_another_process_unlocks_a_door_with_bleak(
    building: tuple[BuildingProcess, dict],
) -> None:
    running, ready = building
    key = Ed25519PrivateKey.generate()
    door_id, grant, grant_id = await _grant(ready["url"], key)

    result = await _unlock(ready["radio"]["port"], door_id, (grant, grant_id), key)

    assert (result.outcome, result.reason) == (Outcome.UNLOCKED, ReasonCode.OK)
    door_key = load_scenario(default_scenario_path()).door(door_id).private_key
    receipt = verify_receipt(result.receipt, public_key_bytes(door_key))
    assert receipt.door_id == door_id
    running.wait_for_line(lambda line: line.startswith(f"door {door_id} open last=unlocked reason=ok"))


def _fault_command(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mock_building.cli", "fault", *args, "--url", url],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=WAIT_S,
        env=CHILD_ENV,
    )


async def test_a_door_fault_toggled_at_run_time_changes_the_next_unlock(
    building: tuple[BuildingProcess, dict],
) -> None:
    running, ready = building
    key = Ed25519PrivateKey.generate()
    door_id, grant, grant_id = await _grant(ready["url"], key)
    toggled = _fault_command(ready["url"], door_id, "jammed=on")
    assert toggled.returncode == 0, toggled.stderr
    assert "jammed=True" in toggled.stdout

    result = await _unlock(ready["radio"]["port"], door_id, (grant, grant_id), key)

    assert result.reason is ReasonCode.DOOR_JAMMED and not result.unlocked
    running.wait_for_line(lambda line: line.startswith(f"door {door_id} ") and "reason=door_jammed" in line)


def test_service_faults_are_toggled_by_the_same_command(building: tuple[BuildingProcess, dict]) -> None:
    _, ready = building
    down = _fault_command(ready["url"], "--service", "down=on")
    assert down.returncode == 0, down.stderr
    assert "down=True" in down.stdout and "latency_ms=0" in down.stdout
    refused = httpx.post(
        f"{ready['url']}/v1/auth/sign-in", json={"driver_id": "demo", "password": "demo-password"}
    )
    assert refused.status_code == 503 and refused.json()["code"] == "service_unavailable"

    assert _fault_command(ready["url"], "--service", "down=off").returncode == 0
    signed_in = httpx.post(
        f"{ready['url']}/v1/auth/sign-in", json={"driver_id": "demo", "password": "demo-password"}
    )
    assert signed_in.status_code == 200


def test_sigterm_stops_the_building_cleanly(building: tuple[BuildingProcess, dict]) -> None:
    running, _ = building
    running.process.send_signal(signal.SIGTERM)
    assert running.process.wait(WAIT_S) == 0
    stderr = running.process.stderr.read() if running.process.stderr else ""
    assert "Traceback" not in stderr, stderr
    running.wait_for_line(lambda line: line == "stopped")
