"""The upkeep fetch that rides on every grant reads no door history: what a door applied is in its head row.

A fetch (one rides on every grant) needs the counter of the last statement the door applied, which
the door states in its newest `maintained` receipt. Finding that receipt scanned the door's receipts
newest first (all of them when it had none), and the counter had to be decoded from the receipt.
Receipt ingest now keeps it in `receipt_heads`: `applied_seq`, the newest stored `maintained`
receipt, and `applied_statement`, the counter it names (both -1: none is stored).
The fetch's other parts become index lookups too: `door_statements_by_kind` answers "the newest ack
queued for the door" without reading its queue, and `grants_revoked_by_door` (now with the expiry)
"a revoked grant of the door still live" without reading its revoked grants that expired long ago.
"A revoked handheld the door has yet to learn of" compares two counts: `revocation_totals` counts the
revoked handhelds (every one is sent to every door), `doors.handhelds_revoked_sent` those queued for
the door; `handhelds_revoked` indexes the list that is read only when the two differ.

The backfill decodes each door's newest `maintained` receipt with the protocol's decoder: the counter
exists only inside the signed receipt.

And on SQLite, `audit_events` loses AUTOINCREMENT (the table is rebuilt, ids kept): every grant adds an
event, and AUTOINCREMENT wrote SQLite's `sqlite_sequence` page with each one (measured: 7 us of a
grant's statements and commit). Ids still only grow, so the feed's cursor holds: a new row takes the
largest id plus one, and audit events are never deleted. PostgreSQL's identity column is unchanged.

Revision ID: 0004
"""

import sqlalchemy as sa
from alembic import op

from protocol.receipt import decode_receipt

revision = "0004"
down_revision = "0003"

_REVOKED = sa.text("revoked_at IS NOT NULL")


def upgrade() -> None:
    for name in ("applied_seq", "applied_statement"):
        op.add_column("receipt_heads", sa.Column(name, sa.BigInteger(), nullable=False, server_default="-1"))
    op.create_index("door_statements_by_kind", "door_statements", ["door_id", "kind", "value"])
    op.create_index(
        "handhelds_revoked", "handhelds", ["key_id"], sqlite_where=_REVOKED, postgresql_where=_REVOKED
    )
    _revoked_grants_by_door(["door_id", "expires_at"])
    op.create_table(
        "revocation_totals",
        sa.Column("target_kind", sa.Text(), primary_key=True),
        sa.Column("total", sa.BigInteger(), nullable=False),
    )
    op.execute(
        "INSERT INTO revocation_totals (target_kind, total)"
        " SELECT 'handheld', COUNT(*) FROM handhelds WHERE revoked_at IS NOT NULL"
    )
    op.add_column(
        "doors", sa.Column("handhelds_revoked_sent", sa.BigInteger(), nullable=False, server_default="0")
    )
    op.execute(
        "UPDATE doors SET handhelds_revoked_sent = (SELECT COUNT(*) FROM door_revocations_sent s"
        " WHERE s.door_id = doors.id AND s.target_kind = 'handheld')"
    )
    _audit_autoincrement(False)
    newest = op.get_bind().execute(
        sa.text(
            "SELECT r.door_id, r.seq, r.raw FROM receipts r WHERE r.outcome = 'maintained' AND r.seq ="
            " (SELECT MAX(m.seq) FROM receipts m WHERE m.door_id = r.door_id AND m.outcome = 'maintained')"
        )
    )
    for door_id, seq, raw in newest.fetchall():
        op.get_bind().execute(
            sa.text(
                "UPDATE receipt_heads SET applied_seq = :seq, applied_statement = :statement"
                " WHERE door_id = :door_id"
            ),
            {"seq": seq, "statement": decode_receipt(bytes(raw)).statement, "door_id": door_id},
        )


def _revoked_grants_by_door(columns: list[str]) -> None:
    op.drop_index("grants_revoked_by_door", "grants")
    op.create_index(
        "grants_revoked_by_door", "grants", columns, sqlite_where=_REVOKED, postgresql_where=_REVOKED
    )


def _audit_autoincrement(on: bool) -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table(
            "audit_events", recreate="always", table_kwargs={"sqlite_autoincrement": on}
        ):
            pass


def downgrade() -> None:
    _audit_autoincrement(True)
    op.drop_column("doors", "handhelds_revoked_sent")
    op.drop_table("revocation_totals")
    _revoked_grants_by_door(["door_id"])
    op.drop_index("handhelds_revoked", "handhelds")
    op.drop_index("door_statements_by_kind", "door_statements")
    for name in ("applied_statement", "applied_seq"):
        op.drop_column("receipt_heads", name)
