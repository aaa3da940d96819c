"""The access service as one part of the building: database, seeded scenario, app, server.

The app is built first and served last, so the orchestrator can add its door-admin routes
before uvicorn starts (and before the OpenAPI document is generated).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Mapping
from pathlib import Path

from fastapi import FastAPI

from mock_building.building.day_clock import DayShiftedClock
from mock_building.building.live_view import AlertLine, AuditLine
from mock_building.building.serving import ServedApp, serve_app
from mock_building.door import DoorFaults
from mock_building.errors import DatabaseUnavailable
from mock_building.scenario.loader import Scenario, ServiceFaultSettings
from mock_building.service import Database, app_for_scenario
from mock_building.service.alerts import AlertBook
from mock_building.service.api_dev_expectations import dev_expectations_router
from mock_building.service.api_dev_labels import LabelShelf, dev_labels_router
from mock_building.service.api_door_admin import door_admin_router
from mock_building.service.audit import AuditLog
from mock_building.service.passwords import DEFAULT_COST

__all__ = ["DATABASE_NAME", "ServicePart"]

DATABASE_NAME = "service.sqlite3"
_AUDIT_WINDOW = 10
_AUDIT_BATCH = 500
_ALERT_SWEEP_S = 2.0


class ServicePart:
    """The service's app and store; `serve()` puts it on the air, `stop()` takes it down."""

    def __init__(self, scenario: Scenario, app: FastAPI, clock: DayShiftedClock) -> None:
        self.scenario = scenario
        self.app = app
        self.database: Database = self.app.state.service.database
        self._audit: AuditLog = self.app.state.service.audit
        self._alerts: AlertBook = self.app.state.service.alerts
        self._clock = clock
        self._swept_at: float | None = None
        self._recent: deque[AuditLine] = deque(maxlen=_AUDIT_WINDOW)
        self._cursors: dict[str, int] = {}
        self._served: ServedApp | None = None
        self._last_alerts: tuple[AlertLine, ...] = ()

    @classmethod
    async def open(
        cls,
        scenario: Scenario,
        data_dir: Path,
        clock: DayShiftedClock,
        *,
        database: str | None = None,
        gap_alert_after_s: int = 15 * 60,
        grant_receipt_margin_s: int = 15 * 60,
    ) -> ServicePart:
        """Open the database (`database`, or the SQLite file in `data_dir`), seed it, build the app."""
        app = await app_for_scenario(
            scenario,
            clock=clock,
            today=clock.today(scenario.zone),
            database=database or data_dir / DATABASE_NAME,
            gap_alert_after_s=gap_alert_after_s,
            grant_receipt_margin_s=grant_receipt_margin_s,
            password_cost=scenario.service.password_cost or DEFAULT_COST,
        )
        return cls(scenario, app, clock)

    @property
    def url(self) -> str:
        if self._served is None:
            raise RuntimeError("the access service is not serving yet")
        return self._served.url

    def mount_door_admin(self, doors: Mapping[str, DoorFaults]) -> None:
        self.app.include_router(door_admin_router(doors))

    def mount_dev_routes(self, labels: LabelShelf) -> None:
        """The mock-only QA endpoints: rendered labels and what each stop should end as."""
        self.app.include_router(dev_labels_router(labels))
        self.app.include_router(dev_expectations_router(self.scenario))

    async def serve(self, host: str, port: int) -> None:
        self._served = await serve_app(self.app, host, port)

    def active_faults(self) -> tuple[tuple[str, object], ...]:
        """The service faults that differ from a healthy service, for the operator's view."""
        healthy = ServiceFaultSettings().model_dump()
        current = self.app.state.service.faults.settings.model_dump()
        return tuple((name, value) for name, value in current.items() if value != healthy[name])

    async def _recent_audit(self) -> tuple[AuditLine, ...]:
        """The newest door events of every building, oldest first (what the live view shows).

        It reads the building managers' feed (pseudonymous drivers), only what is new since last time.
        """
        fresh: list[AuditLine] = []
        try:
            await self._read_feeds(fresh)
        finally:  # what was read is kept, even when a later building's feed could not be
            self._recent.extend(sorted(fresh, key=lambda line: line.id))
        return tuple(self._recent)

    async def _read_feeds(self, fresh: list[AuditLine]) -> None:
        for building in self.scenario.buildings:
            for cursor, event in await self._audit.building_feed(
                building.id, after_id=self._cursors.get(building.id, 0), limit=_AUDIT_BATCH
            ):
                self._cursors[building.id] = cursor
                fresh.append(
                    AuditLine(
                        cursor,
                        event.time.isoformat(timespec="seconds"),
                        event.building_id,
                        event.door_id,
                        event.stop_id,
                        event.carrier,
                        event.driver_ref,
                        event.outcome,
                        event.reason,
                    )
                )

    async def records(self) -> tuple[tuple[AuditLine, ...], tuple[AlertLine, ...], bool]:
        """The audit window, the open alerts, and whether the database answered (False: it cannot be
        reached now, and these are the last seen; the service answers 503 meanwhile)."""
        try:
            self._last_alerts = await self._open_alerts()
            return await self._recent_audit(), self._last_alerts, True
        except DatabaseUnavailable:
            return tuple(self._recent), self._last_alerts, False

    async def _open_alerts(self) -> tuple[AlertLine, ...]:
        """Every building's open alerts, newest first; time-driven ones are swept every few seconds."""
        if self._swept_at is None or time.monotonic() - self._swept_at >= _ALERT_SWEEP_S:
            await self._alerts.sweep(self._clock.now())
            self._swept_at = time.monotonic()
        return tuple(
            AlertLine(
                a.alert_id,
                a.raised_at.isoformat(timespec="seconds"),
                a.building_id,
                a.door_id,
                a.kind,
                a.severity.value,
            )
            for a in await self._alerts.open_alerts(limit=_AUDIT_BATCH)
        )

    async def stop(self) -> None:
        if self._served is not None:
            await self._served.stop()
            self._served = None
        await self.database.close()
