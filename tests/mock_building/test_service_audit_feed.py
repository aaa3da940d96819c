"""A building's audit feed over a long unread backlog: numbered in bounded steps, paged whole and in order."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mock_building.service import audit as audit_module
from mock_building.service.audit import AuditKind
from mock_building.service.clock import FakeClock
from tests.service_support import NOON, make_app

pytestmark = pytest.mark.usefixtures("service_backend")


async def test_a_long_backlog_is_numbered_in_bounded_steps_and_paged_whole(tmp_path, monkeypatch):
    monkeypatch.setattr(audit_module, "NUMBER_AT_MOST", 4)
    app = await make_app(FakeClock(NOON), tmp_path / "service.sqlite3")
    database, log = app.state.service.database, app.state.service.audit
    try:
        for n in range(12):
            at = NOON + timedelta(seconds=n)
            await log.record(
                database, at=at, kind=AuditKind.DOOR, outcome="door_unlocked", reason="ok",
                building_id="A", door_id=("A-N", "A-S")[n % 2], driver_id="alice",
            )  # fmt: skip
            if n % 3 == 0:  # a refusal before any door was named: numbered, never shown
                await log.record(
                    database, at=at, kind=AuditKind.GRANT, outcome="grant_refused", reason="not_on_route",
                    building_id="A", driver_id="alice",
                )  # fmt: skip
        page = await log.building_feed("A", limit=3)
        unnumbered = await database.fetch_value(
            "SELECT COUNT(*) FROM audit_events WHERE building_id = $1 AND feed_seq IS NULL", "A"
        )
        assert len(page) == 3 and unnumbered == 16 - 4  # one step of 4 gave a full page
        pages = [page]
        while page:
            page = await log.building_feed("A", after_id=page[-1][0], limit=3)
            pages.append(page)
        read = [entry for page in pages for entry in page]
        assert [event.time for _, event in read] == [NOON + timedelta(seconds=n) for n in range(12)]
        cursors = [cursor for cursor, _ in read]
        assert cursors == sorted(set(cursors))
    finally:
        await database.close()
