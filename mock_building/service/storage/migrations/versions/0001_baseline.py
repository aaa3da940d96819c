"""Baseline: the schema the service had at SQLite schema 5, for SQLite and PostgreSQL alike.

Times are ISO-8601 UTC text unless named *_epoch (seconds, double precision). Counters and
sequence numbers are 64-bit. A SQLite database made before Alembic (PRAGMA user_version 5) is
stamped with this revision instead of being migrated again.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None

TEXT = sa.Text()
BYTES = sa.LargeBinary()
EPOCH: sa.Double[float] = sa.Double()
INT = sa.BigInteger()
# SQLite's AUTOINCREMENT needs exactly INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _serial_id() -> sa.Column[int]:
    return sa.Column("id", SERIAL, sa.Identity(), primary_key=True)


def _text(name: str, *args: object, nullable: bool = False, **kwargs: object) -> sa.Column[str]:
    return sa.Column(name, TEXT, *args, nullable=nullable, **kwargs)  # type: ignore[arg-type]  # sa's overloads


def upgrade() -> None:
    op.create_table(
        "carriers",
        _text("id", primary_key=True),
        _text("name"),
        _text("kid", unique=True),
        sa.Column("public_key", BYTES, nullable=False),
    )
    op.create_table(
        "buildings",
        _text("id", primary_key=True),
        _text("name"),
        _text("address"),
        sa.Column("manager_token_hash", BYTES),
    )
    op.create_table(
        "building_carriers",
        _text("building_id", sa.ForeignKey("buildings.id"), primary_key=True),
        _text("carrier_id", sa.ForeignKey("carriers.id"), primary_key=True),
    )
    op.create_table(
        "doors",
        _text("id", primary_key=True),
        _text("building_id", sa.ForeignKey("buildings.id")),
        _text("name"),
        sa.Column("public_key", BYTES, nullable=False),
    )
    op.create_table(
        "drivers",
        _text("id", primary_key=True),
        _text("name"),
        _text("carrier_id", sa.ForeignKey("carriers.id")),
        _text("password_hash"),
        _text("revoked_at", nullable=True),
    )
    op.create_table(
        "handhelds",
        _text("key_id", primary_key=True),
        _text("driver_id", sa.ForeignKey("drivers.id")),
        sa.Column("public_key", BYTES, nullable=False),
        _text("registered_at"),
        _text("revoked_at", nullable=True),
    )
    op.create_index("handhelds_by_driver", "handhelds", ["driver_id", "registered_at"])
    # A token family is one sign-in and every refresh that descends from it (RFC 9700 4.14.2).
    op.create_table(
        "session_families",
        _text("id", primary_key=True),
        _text("driver_id", sa.ForeignKey("drivers.id")),
        _text("created_at"),
        _text("ended_at", nullable=True),
        _text("end_reason", nullable=True),
    )
    op.create_table(
        "sessions",
        sa.Column("access_hash", BYTES, primary_key=True),
        sa.Column("refresh_hash", BYTES, nullable=False, unique=True),
        _text("driver_id", sa.ForeignKey("drivers.id")),
        sa.Column("access_expires_epoch", EPOCH, nullable=False),
        sa.Column("refresh_expires_epoch", EPOCH, nullable=False),
        _text("family_id", sa.ForeignKey("session_families.id"), nullable=True),
        # A used refresh token is kept (hashed) until it would have expired, so its reuse is recognised.
        _text("refresh_used_at", nullable=True),
    )
    op.create_index("sessions_by_driver", "sessions", ["driver_id"])
    op.create_index("sessions_by_family", "sessions", ["family_id"])
    op.create_table(
        "routes",
        _text("id", primary_key=True),
        _text("driver_id", sa.ForeignKey("drivers.id")),
        _text("day"),
        sa.UniqueConstraint("driver_id", "day"),
    )
    op.create_table(
        "stops",
        _text("route_id", sa.ForeignKey("routes.id"), primary_key=True),
        _text("id", primary_key=True),
        sa.Column("seq", INT, nullable=False),
        _text("building_id", sa.ForeignKey("buildings.id")),
        _text("address"),
        _text("window_start", nullable=True),
        _text("window_end", nullable=True),
        _text("completed_at", nullable=True),
    )
    op.create_table(
        "packages",
        _text("route_id", primary_key=True),
        _text("id", primary_key=True),
        _text("stop_id"),
        _text("barcode"),
        _text("unit", nullable=True),
        _text("delivered_at", nullable=True),
        sa.ForeignKeyConstraint(["route_id", "stop_id"], ["stops.route_id", "stops.id"]),
    )
    op.create_table(
        "grants",
        _text("id", primary_key=True),
        _text("driver_id"),
        _text("carrier_id"),
        _text("handheld_key_id"),
        _text("route_id"),
        _text("stop_id"),
        _text("door_id"),
        _text("package_id"),
        _text("issued_at"),
        _text("expires_at"),
        _text("revoked_at", nullable=True),
    )
    op.create_index("grants_by_expiry", "grants", ["expires_at"])
    op.create_table(
        "receipts",
        _text("door_id", sa.ForeignKey("doors.id"), primary_key=True),
        sa.Column("seq", INT, primary_key=True),
        sa.Column("digest", BYTES, nullable=False),
        sa.Column("prev_digest", BYTES, nullable=False),
        _text("grant_id", nullable=True),
        _text("outcome"),
        _text("reason"),
        _text("door_time"),
        sa.Column("raw", BYTES, nullable=False),
        _text("received_at"),
    )
    op.create_index("receipts_by_grant", "receipts", ["grant_id"])
    op.create_table(
        "deliveries",
        _text("id", primary_key=True),
        _text("driver_id"),
        _text("route_id"),
        _text("stop_id"),
        _text("package_ids"),
        _text("grant_id", nullable=True),
        _text("delivered_at"),
        _text("recorded_at"),
        _text("claimed_delivered_at", nullable=True),
    )
    op.create_table(
        "audit_events",
        _serial_id(),
        _text("at"),
        _text("kind"),
        _text("building_id", nullable=True),
        _text("door_id", nullable=True),
        _text("stop_id", nullable=True),
        _text("carrier_id", nullable=True),
        _text("driver_ref", nullable=True),
        _text("outcome"),
        _text("reason"),
        _text("grant_id", nullable=True),
        sqlite_autoincrement=True,
    )
    op.create_index("audit_by_building", "audit_events", ["building_id", "id"])
    # Grants can be revoked, and every revocation keeps its stated reason.
    op.create_table(
        "revocations",
        _serial_id(),
        _text("at"),
        _text("target_kind"),
        _text("target_id"),
        _text("reason"),
        sqlite_autoincrement=True,
    )
    # Alerts a building cannot miss, each with its evidence (a JSON object).
    op.create_table(
        "alerts",
        _serial_id(),
        _text("kind"),
        _text("severity"),
        _text("building_id", sa.ForeignKey("buildings.id")),
        _text("door_id", nullable=True),
        _text("grant_id", nullable=True),
        _text("carrier_id", nullable=True),
        _text("event_time", nullable=True),
        _text("raised_at"),
        _text("evidence"),
        _text("dedup_key", unique=True),
        _text("acknowledged_at", nullable=True),
        _text("acknowledged_by", nullable=True),
        _text("acknowledgement_note", nullable=True),
        sqlite_autoincrement=True,
    )
    op.create_index("alerts_by_building", "alerts", ["building_id", "id"])
    # A door's missing receipts, kept current by every upload.
    op.create_table(
        "receipt_gaps",
        _text("door_id", sa.ForeignKey("doors.id"), primary_key=True),
        sa.Column("first_seq", INT, primary_key=True),
        sa.Column("last_seq", INT, nullable=False),
        _text("open_since"),
    )
    op.create_index("receipt_gaps_by_age", "receipt_gaps", ["open_since"])
    op.create_table("alert_sweeps", _text("name", primary_key=True), _text("watermark"))
    # Sign-in throttling: one row per throttled key ("driver:<id>" or "client:<address>").
    op.create_table(
        "sign_in_throttle",
        _text("key", primary_key=True),
        sa.Column("failures", INT, nullable=False),
        sa.Column("last_failure_epoch", EPOCH, nullable=False),
        sa.Column("blocked_until_epoch", EPOCH, nullable=False),
    )
    # POST /v1/grants with an Idempotency-Key: the first answer, replayed for the same key and body.
    op.create_table(
        "grant_requests",
        _text("driver_id", primary_key=True),
        _text("idempotency_key", primary_key=True),
        sa.Column("body_hash", BYTES, nullable=False),
        _text("grant_id", sa.ForeignKey("grants.id")),
        sa.Column("token", BYTES, nullable=False),
        _text("created_at"),
    )
    # Signed maintenance statements queued per door for any phone to relay (SPEC section 14).
    op.create_table(
        "door_statements",
        _text("door_id", sa.ForeignKey("doors.id"), primary_key=True),
        sa.Column("counter", INT, primary_key=True),
        sa.Column("kind", INT, nullable=False),
        sa.Column("value", INT),
        sa.Column("raw", BYTES),
        _text("created_at"),
    )
    # Revocations already turned into statements for a door (so each is sent once per door).
    op.create_table(
        "door_revocations_sent",
        _text("door_id", primary_key=True),
        _text("target_kind", primary_key=True),
        _text("target_id", primary_key=True),
    )
    # A carrier's current grant-signing key after a rotation (mock-grade: the private key is stored).
    op.create_table(
        "carrier_keys",
        _text("carrier_id", sa.ForeignKey("carriers.id"), primary_key=True),
        _text("kid"),
        sa.Column("private_key", BYTES, nullable=False),
        _text("created_at"),
    )


def downgrade() -> None:
    raise NotImplementedError("the baseline is not undone: drop the database instead")
