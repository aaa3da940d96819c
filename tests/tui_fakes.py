"""A small fake of the workflow core for the TUI's Pilot tests (the real one has its own tests).

It follows the contract in driver_app/core: same states, same verdict kinds, notices from the core's
own `notice_for`. The integrator's tests swap in the real DriverWorkflow wired to a mock building.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

from textual.content import Content
from textual.widgets import OptionList

from driver_app.core.errors import AccessRefused, WorkflowError
from driver_app.core.messages import NoticeContext, notice_for
from driver_app.core.ports import DoorOutcome, NearbyDoor, Scan
from driver_app.core.state import PhaseTiming, RouteState, ScanVerdict, ScanVerdictKind, StopPhase, StopState
from driver_app.settings import BleMode, Settings
from driver_app.tui import create_app
from driver_app.tui.app import DriverApp
from protocol.api import Building, DeliveryWindow, Door, Package, Route, Stop

_DAY = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)


def _stop(
    seq: int, address: str, doors: list[tuple[str, str]], packages: list[tuple[str, str, str | None]]
) -> Stop:
    return Stop(
        stop_id=f"S{seq}",
        sequence=seq,
        address=address,
        building=Building(
            building_id=f"B{seq}", name=address, doors=tuple(Door(door_id=d, name=n) for d, n in doors)
        ),
        window=DeliveryWindow(start=_DAY, end=_DAY + dt.timedelta(hours=10)),
        packages=tuple(Package(package_id=p, barcode=b, unit=u) for p, b, u in packages),
    )


ROUTE = Route(
    route_id="R-1",
    date=_DAY.date(),
    stops=(
        _stop(
            1,
            "12 Elm St",
            [("ELM-N", "North entrance"), ("ELM-S", "South entrance")],
            [("P-100", "LK100001", "4B"), ("P-101", "LK100002", None)],
        ),
        _stop(2, "5 Oak Ave", [("OAK-1", "Lobby")], [("P-200", "LK200001", "12")]),
        _stop(3, "9 Pine Rd", [("PINE-1", "Main door")], [("P-300", "LK300001", None)]),
    ),
)
RSSI = {"ELM-N": -71, "ELM-S": -48, "OAK-1": -55, "PINE-1": -60}


@dataclass
class FakeClock:
    wall: float = 1_795_000_000.0
    mono: float = 100.0

    def now(self) -> float:
        return self.wall

    def monotonic(self) -> float:
        return self.mono


class FakeWorkflow:
    """Each phase takes `step` seconds on the fake clock; `door_says` is the next door outcome."""

    credentials_description = "in-memory store"

    def __init__(
        self,
        on_change: Callable[[RouteState], None],
        clock: FakeClock,
        route: Route = ROUTE,
        persistent: bool = False,
    ) -> None:
        self.credentials_persistent = persistent
        self._on_change = on_change
        self._clock = clock
        self._route = route
        self.state = RouteState()
        self.door_says = "ok"
        self.step = 0.25
        self.unlocked_doors: list[str | None] = []
        self.door_answers: asyncio.Event | None = None  # when set up, the door answers only once it is set
        self.route_error: WorkflowError | None = None
        self.signed_out = 0

    def _publish(self, **changes: Any) -> None:
        self.state = replace(self.state, **changes)
        self._on_change(self.state)

    def _set_stop(self, stop_id: str, **changes: Any) -> None:
        stops = dict(self.state.stops)
        stops[stop_id] = replace(stops[stop_id], **changes)
        self._publish(stops=MappingProxyType(stops))

    async def sign_in(self, driver_id: str, password: str) -> None:
        if password != "secret":
            raise AccessRefused("invalid_credentials")
        self._publish(driver_name=driver_id, online=True)

    async def resume_session(self) -> bool:
        return False

    async def sign_out(self) -> bool:
        self.signed_out += 1
        self.state = RouteState()
        self._publish()
        return True

    async def load_route(self) -> RouteState:
        if self.route_error is not None:
            self._publish(online=False)
            raise self.route_error
        stops = {s.stop_id: StopState(s.stop_id) for s in self._route.stops}
        self._publish(route=self._route, stops=MappingProxyType(stops), current_stop_id="S1")
        return self.state

    def select_stop(self, stop_id: str) -> None:
        self._publish(current_stop_id=stop_id)

    async def submit_scan(self, scan: Scan) -> ScanVerdict:
        for stop in self.state.route.stops if self.state.route else ():
            for package in stop.packages:
                if package.barcode != scan.text:
                    continue
                if stop.stop_id != self.state.current_stop_id:
                    message = f"This parcel belongs to stop {stop.sequence} ({stop.address})"
                    return ScanVerdict(ScanVerdictKind.OTHER_STOP, package.package_id, stop.stop_id, message)
                current = self.state.stops[stop.stop_id]
                phase = StopPhase.SCANNED if current.phase is StopPhase.IDLE else current.phase
                scanned = (*current.scanned_package_ids, package.package_id)
                self._set_stop(stop.stop_id, phase=phase, scanned_package_ids=scanned)
                return ScanVerdict(
                    ScanVerdictKind.MATCHED, package.package_id, stop.stop_id, "Parcel scanned"
                )
        return ScanVerdict(
            ScanVerdictKind.UNKNOWN, None, None, "This barcode is not a parcel on today's route"
        )

    def _nearby(self, stop_id: str) -> tuple[NearbyDoor, ...]:
        doors = [d.door_id for s in self._route.stops if s.stop_id == stop_id for d in s.building.doors]
        return tuple(sorted((NearbyDoor(d, RSSI[d]) for d in doors), key=lambda n: -n.rssi))

    async def find_doors(self) -> tuple[NearbyDoor, ...]:
        stop = self.state.current_stop
        assert stop is not None
        self._set_stop(stop.stop_id, nearby=self._nearby(stop.stop_id))
        return self._nearby(stop.stop_id)

    async def unlock(self, door_id: str | None = None) -> DoorOutcome:
        stop = self.state.current_stop
        assert stop is not None
        self.unlocked_doors.append(door_id)
        nearby = self._nearby(stop.stop_id)
        chosen = door_id or nearby[0].door_id
        timings: list[PhaseTiming] = []
        for phase in (
            StopPhase.FINDING_DOOR,
            StopPhase.REQUESTING_GRANT,
            StopPhase.CONNECTING,
            StopPhase.VERIFYING,
        ):
            self._set_stop(
                stop.stop_id,
                phase=phase,
                nearby=nearby,
                door_id=chosen,
                timings=tuple(timings),
                notice=None,
                failed_phase=None,
            )
            self._clock.mono += self.step
            timings.append(PhaseTiming(phase, self.step))
            if phase is StopPhase.VERIFYING and self.door_answers is not None:
                await self.door_answers.wait()
        if self.door_says != "ok":
            notice = notice_for(self.door_says, NoticeContext(other_door_names=("North entrance",)))
            self._set_stop(
                stop.stop_id,
                phase=StopPhase.SCANNED,
                timings=tuple(timings),
                notice=notice,
                failed_phase=StopPhase.VERIFYING,  # the door said no while verifying
            )
            return DoorOutcome(chosen, accepted=False, reason=self.door_says, receipt=b"r")
        relock = self._clock.mono + 5.0
        self._set_stop(stop.stop_id, phase=StopPhase.UNLOCKED, timings=tuple(timings), relock_at=relock)
        self._publish(outbox_size=self.state.outbox_size + 1)
        return DoorOutcome(chosen, accepted=True, reason="ok", receipt=b"r", open_seconds=5.0)

    async def confirm_delivery(self) -> None:
        stop = self.state.current_stop
        assert stop is not None and stop.phase is StopPhase.UNLOCKED
        self._set_stop(stop.stop_id, phase=StopPhase.DELIVERED, relock_at=None)
        following = [
            s.stop_id
            for s in self._route.stops
            if self.state.stops[s.stop_id].phase is not StopPhase.DELIVERED
        ]
        self._publish(
            current_stop_id=following[0] if following else None, outbox_size=self.state.outbox_size + 1
        )

    async def sync_outbox(self) -> int:
        sent = self.state.outbox_size
        self._publish(outbox_size=0)
        return sent

    async def aclose(self) -> None:
        return None


@dataclass
class KeyClock:
    """Keystroke times: every key `gap` seconds after the previous one (slow = a person typing)."""

    gap: float = 0.2
    at: float = 0.0

    def __call__(self) -> float:
        self.at += self.gap
        return self.at


@dataclass
class Rig:
    app: DriverApp
    clock: FakeClock
    keys: KeyClock

    @property
    def workflow(self) -> FakeWorkflow:
        workflow = self.app.workflow
        assert isinstance(workflow, FakeWorkflow)
        return workflow

    @property
    def last_scan(self) -> tuple[Scan, ScanVerdict]:
        """The app's last scan, for a test that has just made one (None there is a failure)."""
        last = self.app.last_scan
        assert last is not None, "the app recorded no scan"
        return last


def make_rig(
    *,
    persistent: bool = False,
    camera=None,
    keymap: dict[str, str] | None = None,
    route: Route = ROUTE,
    demo: bool | None = None,
) -> Rig:
    clock = FakeClock()
    keys = KeyClock()
    app = create_app(
        lambda on_change: FakeWorkflow(on_change, clock, route, persistent),
        Settings(access_url="http://127.0.0.1:8750", ble_mode=BleMode.SIM, keymap=keymap or {}),
        clock=clock,
        camera=camera,
        key_clock=keys,
        demo=not persistent if demo is None else demo,
    )
    return Rig(app, clock, keys)


def prompt_of(options: OptionList, index: int) -> Content:
    """An option's prompt as the app builds it (Content, never markup), for reading its plain text."""
    prompt = options.get_option_at_index(index).prompt
    assert isinstance(prompt, Content)
    return prompt


async def sign_in(pilot, password: str = "secret", *, typed: bool = False) -> None:
    """Fill the sign-in form (typing each key only when the test is about typing) and submit it."""
    if typed:
        await pilot.click("#driver-id")
        await pilot.press(*"d-7", "enter", *password, "enter")
    else:
        pilot.app.screen.query_one("#driver-id").value = "d-7"
        pilot.app.screen.query_one("#password").value = password
        pilot.app.screen.query_one("#password").focus()
        await pilot.press("enter")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def open_first_stop(pilot) -> None:
    await sign_in(pilot)
    await pilot.press("enter")
    await pilot.pause()


async def manual_scan(pilot, text: str, *, typed: bool = False) -> None:
    """Scan by manual entry on the stop screen (focus leaves the field by itself)."""
    await pilot.press("m")
    if typed:
        await pilot.press(*text)
    else:
        pilot.app.screen.query_one("#manual").value = text
    await pilot.press("enter")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


class StillCamera:
    """A `CameraScanner` showing one fixed synthetic picture a few times and reading nothing."""

    description = "synthetic"

    def __init__(self, frames: int = 3) -> None:
        self._frames = frames
        self.closed = False

    def frames(self):
        import numpy as np

        y, x = np.mgrid[0:120, 0:160]
        picture = np.stack([x * 255 // 160, y * 255 // 120, np.full_like(x, 96)], axis=-1).astype(np.uint8)
        picture[40:80, 60:100] = 255  # a white "label" in the middle
        for _ in range(self._frames):
            yield picture

    def reads(self, frame) -> list[Scan]:
        return []

    def close(self) -> None:
        self.closed = True
