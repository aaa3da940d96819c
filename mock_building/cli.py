"""The `mock-building` command line: `up`, `serve`, `labels`, `fault`, `door`, door upkeep through phones
(`revoke`, `rotate-key`, `set-time`, `accept-carrier`, `drop-carrier`) and `scenario generate`."""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from mock_building.errors import MockBuildingError

__all__ = ["build_parser", "main"]

DEFAULT_PORT = 8750
DEFAULT_RADIO_PORT = 8751
_DATA_DIR_HELP = "state directory (default: a per-user data dir, one per scenario)"


def _version() -> str:
    """The installed distribution's version (one number for the driver app and the mock building)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("lobbykey")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mock-building",
        description="Run a LobbyKey building with no hardware: access service and emulated BLE doors.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_up(commands.add_parser("up", help="start the access service, the virtual radio and every door"))
    _add_serve(commands.add_parser("serve", help="run the access service alone, in one or more workers"))
    _add_door(commands.add_parser("door", help="run one door peripheral on a real Bluetooth controller"))
    _add_labels(commands.add_parser("labels", help="render parcel label images for a scenario"))
    _add_fault(commands.add_parser("fault", help="toggle a door fault in a running building"))
    _add_upkeep(commands)
    _add_scenario(commands.add_parser("scenario", help="write scenarios (generate a whole city)"))
    return parser


def _admin_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--url",
        help=f"the building (default: $LOBBYKEY_ACCESS_URL, else access_url in the driver app's config file, "
        f"else http://127.0.0.1:{DEFAULT_PORT})",
    )
    parser.add_argument("--admin-token", help="admin bearer token (default: the scenario's)")
    _scenario_option(parser)


def _add_upkeep(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Changes that reach the doors through the next phone that connects (SPEC section 14)."""
    later = " The door applies it the next time any phone connects to it."
    revoke = commands.add_parser("revoke", help="revoke a grant or a handheld key, at the service and doors")
    revoke.description = "Revoke a grant (GRANT_ID: 32 hex digits or base64url) or a handheld key id." + later
    target = revoke.add_mutually_exclusive_group(required=True)
    target.add_argument("grant_id", nargs="?", metavar="GRANT_ID")
    target.add_argument("--handheld", metavar="KEY_ID", help="a handheld key id (base64url)")
    target.add_argument("--building", metavar="BUILDING_ID", help="every grant issued so far, at its doors")
    revoke.add_argument("--reason", default="revoked by the building admin", help="kept in the audit feed")
    rotate = commands.add_parser("rotate-key", help="give a carrier a new grant-signing key")
    rotate.description = "New grants are signed with a new key; doors add it and retire the old one." + later
    rotate.add_argument("carrier", metavar="CARRIER_ID")
    set_time = commands.add_parser("set-time", help="send a door the service's time")
    set_time.description = "A time statement, signed with the service clock when a phone fetches it." + later
    set_time.add_argument("door_id", metavar="DOOR_ID")
    for name, verb in (("accept-carrier", "accept"), ("drop-carrier", "drop")):
        parser = commands.add_parser(name, help=f"{verb} a carrier at a building (owner-signed trust change)")
        parser.description = f"{verb.capitalize()} a carrier's grants at every door of a building." + later
        parser.add_argument("building", metavar="BUILDING_ID")
        parser.add_argument("carrier", metavar="CARRIER_ID")
    for name in ("revoke", "rotate-key", "set-time", "accept-carrier", "drop-carrier"):
        _admin_options(commands.choices[name])


def _add_scenario(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="scenario_command", metavar="ACTION", required=True)
    generate = actions.add_parser(
        "generate",
        help="write a city: buildings on a map, doors, drivers with routes, expectations",
        description="Write a valid scenario for load tests, the same bytes for the same options and seed.",
    )
    counts = [
        ("--buildings", "buildings on a 200 m grid"),
        ("--doors-per-building", "doors in each building"),
        ("--drivers", "drivers, each with a route"),
        ("--stops-per-route", "stops on each route"),
    ]
    for flag, text in counts:
        generate.add_argument(flag, type=int, required=True, metavar="N", help=text)
    generate.add_argument("--carriers", type=int, default=1, metavar="N", help="default %(default)s")
    generate.add_argument("--seed", default="city", help="what makes it this city (default %(default)s)")
    generate.add_argument(
        "--adv-interval-ms",
        type=int,
        default=100,
        metavar="MS",
        help="doors' advertising interval (default %(default)s)",
    )
    generate.add_argument("--out", type=Path, required=True, metavar="FILE", help="the TOML file to write")


def _scenario_option(parser: argparse.ArgumentParser, *, with_data_dir: bool = False) -> None:
    parser.add_argument(
        "--scenario", type=Path, metavar="FILE", help="scenario TOML (default: the bundled demo)"
    )
    if with_data_dir:
        parser.add_argument("--data-dir", type=Path, metavar="DIR", help=_DATA_DIR_HELP)


def _add_up(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Start the access service, the virtual radio and every door of a scenario in one process; print the URL, "
        'the radio address and a demo driver\'s credentials, then a "ready" line; show a live view (or plain '
        "lines with --headless or without a terminal) until Ctrl-C or SIGTERM."
    )
    _scenario_option(parser, with_data_dir=True)
    parser.add_argument(
        "--host", default="127.0.0.1", help="address both listeners bind to (default %(default)s)"
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help="access service port (default %(default)s; 0: any)"
    )
    parser.add_argument(
        "--radio-port",
        type=int,
        default=DEFAULT_RADIO_PORT,
        help="radio attachment port (default %(default)s; 0: any)",
    )
    parser.add_argument("--fresh", action="store_true", help="wipe the state directory before starting")
    parser.add_argument(
        "--database",
        default=os.environ.get("LOBBYKEY_DATABASE"),
        metavar="URL",
        help="the access service's PostgreSQL (postgresql://user@host:port/db; also LOBBYKEY_DATABASE);"
        " default: an embedded SQLite file in the state directory",
    )
    parser.add_argument(
        "--today",
        type=date.fromisoformat,
        metavar="YYYY-MM-DD",
        help="the day routes run on (default: today)",
    )
    parser.add_argument("--headless", action="store_true", help="log plain lines instead of the live view")
    parser.add_argument(
        "--mode",
        choices=("demo", "production"),
        default="demo",
        help="demo (default) also serves each signed-in driver the labels of their parcels (GET /v1/dev/labels)",
    )
    parser.add_argument(
        "--gap-alert-minutes",
        type=_minutes,
        default=15,
        metavar="N",
        help="alert the building when a receipt gap is still open after N minutes (default %(default)s)",
    )
    parser.add_argument(
        "--grant-margin-minutes",
        type=_minutes,
        default=15,
        metavar="N",
        help="alert the building when no receipt quotes a grant N minutes after it expired"
        " (default %(default)s)",
    )
    parser.add_argument("--ready-file", type=Path, metavar="PATH", help="write a JSON readiness record here")


def _add_serve(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Run only the access service of a scenario, as a carrier or building operator deploys it: seed the "
        "database once, then serve it from N worker processes sharing one port. SQLite (a file path) is the "
        "embedded one-process store; several workers need PostgreSQL (--database postgresql://user@host/db). "
        'Prints the URL and a "ready" line once every worker accepts; stops on Ctrl-C or SIGTERM.'
    )
    parser.add_argument("--scenario", type=Path, required=True, metavar="FILE", help="scenario TOML")
    parser.add_argument(
        "--database",
        metavar="URL_OR_PATH",
        help="a postgresql:// URL or a SQLite file (default: service.sqlite3 in the scenario's state directory)",
    )
    parser.add_argument("--workers", type=_positive, default=1, metavar="N", help="default %(default)s")
    parser.add_argument(
        "--db-connections",
        type=_positive,
        metavar="N",
        help="PostgreSQL connections the service holds at most, shared evenly by the workers "
        "(each at least 2; default 20)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default %(default)s)")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help="port (default %(default)s; 0: any free port)"
    )
    parser.add_argument(
        "--grant-rate-limit",
        type=_positive,
        metavar="N",
        help="grants one driver may get per rate window (default: the service's)",
    )


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("a whole number of at least 1")
    return value


def _add_door(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Run one door of a scenario as a BLE peripheral on a real controller through a bumble transport, "
        "e.g. usb:0, usb:2fe3:000b, hci-socket:0 or serial:/dev/ttyACM0,1000000. The door logic, GATT "
        "profile and receipts are exactly those of the emulated doors; only the transport differs."
    )
    parser.add_argument(
        "--transport", required=True, metavar="SPEC", help="bumble transport spec, e.g. usb:0"
    )
    parser.add_argument("--door-id", required=True, metavar="ID", help="which door of the scenario to run")
    _scenario_option(parser, with_data_dir=True)


def _add_labels(parser: argparse.ArgumentParser) -> None:
    _scenario_option(parser)
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="writes DIR/<package_id>.png")


def _add_fault(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Toggle faults of a running building: `mock-building fault ELM-N jammed=on slow_ms=800` for a door "
        "(jammed, slow_ms, drop_mid_write, rssi_dbm, out_of_range, clock_skew_s, wrong_issuer_key, powered_off; "
        "door-position sensor: forced, held_open, nobody_enters), "
        "`mock-building fault --service down=on error_rate=0.2` for the access service (latency_ms, error_rate, down)."
    )
    parser.add_argument(
        "items", nargs="+", metavar="[DOOR_ID] NAME=VALUE", help="values are on/off or numbers"
    )
    parser.add_argument(
        "--service", action="store_true", help="set access service faults instead of a door's"
    )
    _admin_options(parser)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    from mock_building.building.logs import configure_logging
    from mock_building.building.paths import live_log_file

    configure_logging(live_log_file() if _live(args) else None)  # the one place this process sets it up
    try:
        return _COMMANDS[args.command](args)
    except MockBuildingError as err:
        print(f"mock-building: error [{err.reason}]: {err.message}", file=sys.stderr)
        return 2


def _scenario_path(args: argparse.Namespace) -> Path:
    from mock_building.scenario.loader import default_scenario_path

    return args.scenario or default_scenario_path()


def _scenario(args: argparse.Namespace):  # -> Scenario; imported lazily to keep `--help` fast
    from mock_building.scenario.loader import load_scenario

    return load_scenario(_scenario_path(args))


def _data_dir(args: argparse.Namespace) -> Path:
    from mock_building.building.paths import default_data_dir

    return args.data_dir or default_data_dir(_scenario_path(args).stem)


def _minutes(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 7 * 24 * 60:
        raise argparse.ArgumentTypeError("minutes between 0 and one week")
    return value


def _up(args: argparse.Namespace) -> int:
    from mock_building.building.running import BuildingMode, BuildingSettings, run_building

    settings = BuildingSettings(
        scenario_path=args.scenario,
        host=args.host,
        port=args.port,
        radio_port=args.radio_port,
        data_dir=_data_dir(args),
        fresh=args.fresh,
        today=args.today,
        ready_file=args.ready_file,
        mode=BuildingMode(args.mode),
        gap_alert_after_s=round(args.gap_alert_minutes * 60),
        grant_receipt_margin_s=round(args.grant_margin_minutes * 60),
        database=args.database,
    )
    code = asyncio.run(run_building(settings, live=_live(args)))
    # Everything is stopped and on disk. Leave the heap (a city is a thousand emulated controllers)
    # to the OS: the collector walking it at interpreter exit took about a second after SIGTERM.
    gc.freeze()
    return code


def _serve(args: argparse.Namespace) -> int:
    from mock_building.building.paths import default_data_dir
    from mock_building.building.service import DATABASE_NAME
    from mock_building.building.standalone_service import ServeSettings, run_service

    settings = ServeSettings(
        scenario_path=args.scenario,
        database=args.database or str(default_data_dir(args.scenario.stem) / DATABASE_NAME),
        workers=args.workers,
        db_connections=args.db_connections,
        host=args.host,
        port=args.port,
        grant_rate_limit=args.grant_rate_limit,
    )
    return asyncio.run(run_service(settings))


def _live(args: argparse.Namespace) -> bool:
    """`up` shows the live view unless --headless or stdout is not a terminal."""
    return args.command == "up" and not args.headless and sys.stdout.isatty()


def _labels(args: argparse.Namespace) -> int:
    from mock_building.scenario.labels import write_labels

    paths = write_labels(_scenario(args), args.out)
    print(f"wrote {len(paths)} labels to {args.out}")
    return 0


def _url(args: argparse.Namespace) -> str:
    """--url, else where the driver app points (LOBBYKEY_ACCESS_URL, its config file), else the default."""
    from mock_building.building.fault_client import building_url

    return building_url(args.url)[0]


def _fault(args: argparse.Namespace) -> int:
    from mock_building.building.fault_client import (
        building_url,
        check_names,
        parse_settings,
        set_door_faults,
        set_service_faults,
    )

    url, source = building_url(args.url)
    token = args.admin_token or _scenario(args).admin_token
    if args.service:
        target, items = "service", args.items
    else:
        target, *items = args.items
    settings = parse_settings(items)
    check_names(settings, service=args.service)
    print(f"fault: building {url} (from {source})", file=sys.stderr)
    if args.service:
        faults = set_service_faults(url, token, settings)
    else:
        faults = set_door_faults(url, token, target, settings)
    print(f"{target}: " + ", ".join(f"{name}={value}" for name, value in faults.items()))
    return 0


def _upkeep(args: argparse.Namespace) -> int:
    from mock_building.building import upkeep_client

    token = args.admin_token or _scenario(args).admin_token
    if args.command == "revoke":
        what = upkeep_client.revoke(
            _url(args),
            token,
            grant_id=args.grant_id,
            handheld_key_id=args.handheld,
            building=args.building,
            reason=args.reason,
        )
        print(f"revoked {what}; doors learn it from the next phone that connects")
    elif args.command == "rotate-key":
        upkeep_client.rotate_key(_url(args), token, args.carrier)
        print(f"{args.carrier}: new grant key; doors add it and retire the old one when a phone connects")
    elif args.command == "set-time":
        waiting = upkeep_client.set_time(_url(args), token, args.door_id)
        print(f"{args.door_id}: time statement queued ({waiting} statement(s) wait for the next phone)")
    else:
        accepted = args.command == "accept-carrier"
        upkeep_client.change_carrier(_url(args), token, args.building, args.carrier, accepted=accepted)
        verb = "accepted" if accepted else "dropped"
        print(f"{args.building}: {args.carrier} {verb}; doors follow on the next phone")
    return 0


def _door(args: argparse.Namespace) -> int:
    from mock_building.door.standalone import run_real_door

    return asyncio.run(run_real_door(_scenario(args), args.door_id, args.transport, _data_dir(args)))


def _scenario_command(args: argparse.Namespace) -> int:
    from mock_building.scenario.generate import CitySpec, generate_scenario
    from mock_building.scenario.loader import parse_scenario

    spec = CitySpec(
        buildings=args.buildings,
        doors_per_building=args.doors_per_building,
        drivers=args.drivers,
        stops_per_route=args.stops_per_route,
        carriers=args.carriers,
        seed=args.seed,
        adv_interval_ms=args.adv_interval_ms,
    )
    if problems := spec.problems():
        print("mock-building scenario generate: " + "; ".join(problems), file=sys.stderr)
        return 2
    text = generate_scenario(spec)
    # Validate before writing: never leave a scenario `up` would refuse.
    scenario = parse_scenario(text, base_dir=args.out.parent, source=str(args.out))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(
        f"wrote {args.out}: {len(scenario.buildings)} buildings, {len(scenario.doors)} doors, "
        f"{len(scenario.drivers)} drivers, {sum(len(r.stops) for r in scenario.routes)} stops"
    )
    return 0


_COMMANDS = {
    "up": _up, "serve": _serve, "labels": _labels, "fault": _fault, "door": _door, "scenario": _scenario_command,
    **dict.fromkeys(("revoke", "rotate-key", "set-time", "accept-carrier", "drop-carrier"), _upkeep),
}  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
