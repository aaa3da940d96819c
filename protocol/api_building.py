"""HTTP API for the people behind the door (prefix /v1): the manager's alerts and the tenant view.

Kept apart from `protocol.api` (the handheld's API) because no handheld ever calls it; the rules
are the same: unknown fields are refused, bytes are base64url, `kind` is a `ReasonCode` slug.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Alert", "AlertAcknowledgement", "AlertSeverity", "AlertState", "TenantEntry", "Verification"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AlertSeverity(StrEnum):
    CRITICAL = "critical"  # someone may be hiding or forging door history, or the door was forced
    WARNING = "warning"  # history is incomplete or a door was misused; often innocent, always explained
    NOTICE = "notice"


class AlertState(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"


class Alert(_Model):
    """GET /v1/alerts: one stored alert with the evidence that raised it (no driver names)."""

    alert_id: Annotated[int, Field(ge=1)]
    kind: str
    severity: AlertSeverity
    state: AlertState
    building_id: str
    door_id: str | None = None
    raised_at: dt.datetime
    event_time: dt.datetime | None = None
    evidence: dict[str, str | int | None]
    acknowledged_at: dt.datetime | None = None
    acknowledged_by: str | None = None
    note: str | None = None


class AlertAcknowledgement(_Model):
    """POST /v1/alerts/{alert_id}/acknowledgement: the manager has seen it (and says what was done)."""

    note: Annotated[str, Field(max_length=500)] = ""


class Verification(StrEnum):
    """How far the service could check one door receipt."""

    VERIFIED = "verified"  # door signature good, chained to the receipt before it
    VERIFIED_AFTER_GAP = "verified_after_gap"  # signature good, but receipts before it are missing
    BAD_SIGNATURE = "bad_signature"  # not signed by the door: its content is a claim only
    CHAIN_BROKEN = "chain_broken"  # signed, but does not link into the door's history
    CHAIN_FORK = "chain_fork"  # signed, but a different receipt holds its place in the history


class TenantEntry(_Model):
    """GET /v1/buildings/{building_id}/entries: which carrier came to which door when; no person."""

    time: dt.datetime
    door_id: str
    seq: Annotated[int, Field(ge=0)]
    carrier: str | None = None
    outcome: str
    reason: str
    verification: Verification
