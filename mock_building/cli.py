"""The `mock-building` command line."""

from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mock-building",
        description="Run a LobbyKey building with no hardware: access service and emulated BLE doors.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("up", help="start the access service, the virtual radio and every door")
    commands.add_parser("door", help="run one door peripheral on a real Bluetooth controller")
    commands.add_parser("labels", help="render parcel label images for a scenario")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command is None:
        build_parser().print_help()
        return 0
    print(f"mock-building {args.command}: not yet implemented", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
