"""Locust load profile: each Locust user is one simulated driver walking its route through the app's
workflow core (real HTTP, the building's emulated BLE, its own handheld key and outbox), so a QA
team can spread a city's drivers over machines.

    pip install -e '.[load]'
    locust -f locustfile.py --headless -u 20 -r 20 --run-time 2m \\
        --lobbykey-scenario city.toml --lobbykey-url http://HOST:8750 --lobbykey-radio HOST:8751
    # distributed: add --master --expect-workers 2 --lobbykey-workers 2 here, and on each worker machine
    locust -f locustfile.py --worker --master-host MASTER

Each finished stop is one Locust request of type STOP named after how it ended ("delivered",
"carrier_not_accepted", …) with the stop time as its response time; a stop whose outcome the
scenario did not expect is a failure. Drivers are dealt out without overlap: worker W of
--lobbykey-workers takes the scenario's drivers W, W+N, W+2N…, and its users take those in turn; a
user whose driver has finished its route stops.

Locust runs on gevent, which patches sockets and selectors; the drivers need plain asyncio. So each
Locust process starts one `driver_app.runner.fleet_agent` child that runs its drivers on one
event loop (exactly what `driver-app run-fleet` does) and reports stops as JSON lines; Locust's
greenlets only hand drivers over and turn the lines into request events.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gevent
from gevent.lock import BoundedSemaphore
from gevent.queue import Queue
from locust import User, constant, events, task
from locust.env import Environment
from locust.exception import StopUser
from locust.runners import STATE_RUNNING, WorkerRunner

from driver_app.runner.fleet_agent import driver_record
from driver_app.runner.scenario_file import FleetDriver, generated_drivers, read_fleet
from driver_app.settings import DEFAULT_ACCESS_URL, DEFAULT_RADIO


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:  # Locust's configargparse parser
    parser.add_argument("--lobbykey-scenario", default="", help="scenario TOML the building runs")
    parser.add_argument("--lobbykey-url", default=DEFAULT_ACCESS_URL, help="the building's access service")
    parser.add_argument("--lobbykey-radio", default=DEFAULT_RADIO, help="the building's radio HOST:PORT")
    parser.add_argument("--lobbykey-workers", type=int, default=1, help="how many workers share the drivers")
    parser.add_argument("--lobbykey-drivers", type=int, default=200, help="drivers when there is no scenario")


class _Agent:
    """This Locust process's fleet agent, its deal of drivers, and one mailbox per driver."""

    def __init__(self, environment: Environment) -> None:
        options = environment.parsed_options
        assert options is not None  # Locust parses the command line before it starts any user
        scenario = options.lobbykey_scenario
        every = read_fleet(Path(scenario)) if scenario else generated_drivers(options.lobbykey_drivers)
        runner = environment.runner
        index = runner.worker_index if isinstance(runner, WorkerRunner) else 0
        self.deal: Iterator[FleetDriver] = iter(every[index :: max(1, options.lobbykey_workers)])
        self.process = subprocess.Popen(  # noqa: S603 - our own module under this interpreter, fixed argv
            [
                sys.executable,
                "-m",
                "driver_app.runner.fleet_agent",
                "--access-url",
                options.lobbykey_url,
                "--radio",
                options.lobbykey_radio,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.mailboxes: dict[str, Queue[dict[str, Any]]] = {}
        gevent.spawn(self._read)

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            record = json.loads(line)
            self.mailboxes[record["driver"]].put(record)

    def start(self, driver: FleetDriver) -> Queue[dict[str, Any]]:
        mailbox: Queue[dict[str, Any]] = Queue()
        self.mailboxes[driver.driver_id] = mailbox
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(driver_record(driver)) + "\n")
        self.process.stdin.flush()
        return mailbox

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


_agent: _Agent | None = None
_starting = BoundedSemaphore()


def _shared(environment: Environment) -> _Agent:
    global _agent  # one per Locust process, started with its first user
    with _starting:  # starting the child yields to other users' greenlets: let them wait for it
        if _agent is None:
            _agent = _Agent(environment)
    return _agent


@events.test_start.add_listener
def _quit_when_every_route_is_walked(environment: Environment, **_: Any) -> None:
    """Every user stops when its driver's day is over; then the run is over too (not at --run-time)."""
    runner = environment.runner
    if runner is None or isinstance(runner, WorkerRunner):
        return

    def watch() -> None:
        while runner.state != STATE_RUNNING:  # spawning
            gevent.sleep(0.5)
        while runner.user_count > 0:
            gevent.sleep(1.0)
        runner.quit()

    gevent.spawn(watch)


@events.quitting.add_listener
def _stop_agent(**_: Any) -> None:
    if _agent is not None:
        _agent.close()


class SimulatedDriver(User):
    wait_time = constant(0)

    @task
    def walk_route(self) -> None:
        agent = _shared(self.environment)
        driver = next(agent.deal, None)
        if driver is None:
            raise StopUser()
        mailbox = agent.start(driver)
        while not (record := mailbox.get()).get("done"):
            failure = (
                None
                if record["passed"]
                else AssertionError(
                    f"{record['stop']}: {record['outcome']}, expected {record['expected']} {record['detail']}"
                )
            )
            self.environment.events.request.fire(
                request_type="STOP",
                name=record["outcome"],
                response_time=record["elapsed"] * 1000.0,
                response_length=0,
                exception=failure,
                context={"driver": driver.driver_id, "stop": record["stop"]},
            )
        if record["error"] is not None:
            self.environment.events.request.fire(
                request_type="SETUP",
                name="sign-in or route",
                response_time=0,
                response_length=0,
                exception=RuntimeError(record["error"]),
                context={"driver": driver.driver_id},
            )
        raise StopUser()
