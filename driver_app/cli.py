"""The `driver-app` command line."""

from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="driver-app",
        description="LobbyKey driver app: scan the parcel, open the lobby door, confirm the delivery.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    from driver_app.tui import cli as tui_cli

    tui_cli.add_arguments(commands.add_parser("tui", help="run the driver's terminal app (the default)"))
    from driver_app import demo

    demo.add_arguments(commands.add_parser("demo", help="run the app against a bundled mock building"))
    from driver_app.scanning import cli as scan_cli

    scan_cli.add_arguments(commands.add_parser("scan", help="decode barcodes in image and video files"))
    from driver_app.runner import cli as run_route_cli

    run_route_cli.add_arguments(commands.add_parser("run-route", help="walk today's route headless, for QA"))
    from driver_app import outbox_cli

    outbox_cli.add_arguments(
        commands.add_parser("outbox", help="list, retry or export what the outbox holds")
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    command = args.command or "tui"
    from driver_app.logs import configure_logging

    configure_logging()  # once, for every subcommand: the one place this process's logging is set up
    if command == "tui":
        from driver_app.tui import cli as tui_cli

        return tui_cli.run(args)
    if command == "scan":
        from driver_app.scanning import cli as scan_cli

        return scan_cli.run(args)
    if command == "run-route":
        from driver_app.runner import cli as run_route_cli

        return run_route_cli.run(args)
    if command == "outbox":
        from driver_app import outbox_cli

        return outbox_cli.run(args)
    from driver_app import demo

    return demo.run(args)


if __name__ == "__main__":
    sys.exit(main())
