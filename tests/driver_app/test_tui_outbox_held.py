"""Diagnostics list the outbox items the service refused (held), with their reasons, literally."""

from __future__ import annotations

from textual.content import Content

from driver_app.core.state import HeldItem, RouteState
from driver_app.tui.screens.diagnostics import diagnostics_content

INFO = {name: Content(name) for name in ("access", "ble", "camera", "keyring")}


def test_held_items_are_counted_and_listed_with_their_reason() -> None:
    state = RouteState(
        outbox_size=3,
        outbox_waiting=1,
        held=(
            HeldItem(4, "delivery", "0b9e-uuid", "not_on_route"),
            HeldItem(7, "receipt", "ab12", "chain\x1b[2J"),
        ),
    )
    text = diagnostics_content(INFO, state).plain
    assert "Outbox: 3 waiting to sync" in text
    assert "2 held (refused), 1 for another driver" in text
    assert "#4 delivery 0b9e-uuid held: not_on_route" in text
    assert "#7 receipt ab12 held: chain\\x1b[2J" in text  # a server's reason is shown, never obeyed
