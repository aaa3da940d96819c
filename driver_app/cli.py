"""The `driver-app` command line."""

from __future__ import annotations

import argparse
import sys


def _version() -> str:
    """The installed distribution's version (one number for the driver app and the mock building)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("lobbykey")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="driver-app",
        description="LobbyKey driver app: scan the parcel, open the lobby door, confirm the delivery.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    from driver_app.tui import cli as tui_cli

    tui_cli.add_arguments(commands.add_parser("tui", help="run the driver's terminal app (the default)"))
    from driver_app import demo

    demo.add_arguments(commands.add_parser("demo", help="run the app against a bundled mock building"))
    from driver_app.adapters.scanning import cli as scan_cli

    scan_cli.add_arguments(commands.add_parser("scan", help="decode barcodes in image and video files"))
    from driver_app.runner import cli as run_route_cli

    run_route_cli.add_arguments(commands.add_parser("run-route", help="walk today's route headless, for QA"))
    from driver_app import outbox_cli

    outbox_cli.add_arguments(
        commands.add_parser("outbox", help="list, retry or export what the outbox holds")
    )
    from driver_app.runner import fleet_cli

    fleet_cli.add_arguments(
        commands.add_parser("run-fleet", help="many simulated drivers at once, for load QA")
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Exit 2 with one line for a configuration problem (file:line, env var or flag named)."""
    from driver_app.settings import ConfigError

    args = build_parser().parse_args(argv)
    try:
        return _dispatch(args)
    except ConfigError as err:
        print(f"driver-app: {err}", file=sys.stderr)
        return 2


def _dispatch(args: argparse.Namespace) -> int:
    command = args.command or "tui"
    from driver_app.logs import configure_logging

    configure_logging()  # once, for every subcommand: the one place this process's logging is set up
    if command == "tui":
        from driver_app.tui import cli as tui_cli

        return tui_cli.run(args)
    if command == "scan":
        from driver_app.adapters.scanning import cli as scan_cli

        return scan_cli.run(args)
    if command == "run-route":
        from driver_app.runner import cli as run_route_cli

        return run_route_cli.run(args)
    if command == "run-fleet":
        from driver_app.runner import fleet_cli

        return fleet_cli.run(args)
    if command == "outbox":
        from driver_app import outbox_cli

        return outbox_cli.run(args)
    from driver_app import demo

    return demo.run(args)


if __name__ == "__main__":
    sys.exit(main())
