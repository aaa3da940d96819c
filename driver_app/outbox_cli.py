"""`driver-app outbox list|retry|export`: see, retry or hand over what the outbox still holds.

For the driver and for QA, with no service needed: the outbox is a local file. `retry` only moves
held items back to pending; the app (or `run-route`) sends them the next time their owner is
signed in. `export` writes JSON lines a carrier's support can replay or attach to a ticket.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TextIO

from driver_app.core.display_text import printable
from driver_app.core.ports import OutboxItem, OutboxKind, OutboxState

__all__ = ["add_arguments", "describe", "item_record", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir", type=Path, help="where the outbox lives (default: the app's data directory)"
    )
    actions = parser.add_subparsers(dest="outbox_action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="every queued item, its owner, state and reason")
    listing.add_argument("--held", action="store_true", help="only items the service refused")
    retry = actions.add_parser(
        "retry", help="move held items back to pending (sent at the owner's next sync)"
    )
    retry.add_argument("item_ids", type=int, nargs="*", metavar="ITEM_ID", help="default: every held item")
    export = actions.add_parser("export", help="write items as JSON lines (payload included)")
    export.add_argument("--held", action="store_true", help="only items the service refused")
    export.add_argument("--out", type=Path, help="file to write (default: standard output)")


def item_record(item: OutboxItem) -> dict[str, object]:
    """One item as plain JSON: a delivery's payload as its JSON, a receipt's as base64url."""
    from protocol.api import b64url_encode

    payload: object = (
        json.loads(item.payload) if item.kind == OutboxKind.DELIVERY else b64url_encode(item.payload)
    )
    return {
        "item_id": item.item_id,
        "kind": item.kind,
        "key": item.key,
        "state": item.state,
        "reason": item.reason,
        "attempts": item.attempts,
        "driver_id": item.owner.driver_id if item.owner else None,
        "session_key": item.owner.session_key if item.owner else None,
        "payload": payload,
    }


def describe(item: OutboxItem) -> str:
    """One line per item: id, kind, key, owner, state, reason, attempts."""
    owner = item.owner.driver_id if item.owner else "-"
    reason = f" reason={item.reason}" if item.reason else ""
    return printable(
        f"#{item.item_id} {item.kind} {item.key} driver={owner} {item.state}{reason} attempts={item.attempts}"
    )


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from driver_app.adapters.outbox_sqlite import SqliteOutbox
    from driver_app.core.errors import WorkflowError
    from driver_app.paths import outbox_file
    from driver_app.settings import Settings

    out = out or sys.stdout
    data_dir = args.data_dir or Settings().data_dir
    try:
        outbox = SqliteOutbox(outbox_file(data_dir))
    except WorkflowError as err:
        print(f"driver-app outbox: {printable(str(err))}", file=sys.stderr)
        return 2
    try:
        state = OutboxState.HELD if getattr(args, "held", False) else None
        if args.outbox_action == "list":
            items = outbox.items(state)
            for item in items:
                out.write(describe(item) + "\n")
            held = outbox.count(state=OutboxState.HELD)
            out.write(f"{len(items)} item(s), {held} held\n")
        elif args.outbox_action == "retry":
            released = outbox.release(args.item_ids or None)
            out.write(f"{released} held item(s) back to pending\n")
        else:
            target = args.out.open("w", encoding="utf-8") if args.out else out
            try:
                for item in outbox.items(state):
                    target.write(json.dumps(item_record(item), sort_keys=True) + "\n")
            finally:
                if args.out:
                    target.close()
    finally:
        outbox.close()
    return 0
