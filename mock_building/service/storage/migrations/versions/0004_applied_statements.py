"""What a door applied, in its head row: a grant's upkeep fetch no longer reads the door's history.

A fetch (one rides on every grant) needs the counter of the last statement the door applied, which
the door states in its newest `maintained` receipt. Finding that receipt scanned the door's receipts
newest first (all of them when it had none), and the counter had to be decoded from the receipt.
Receipt ingest now keeps it in `receipt_heads`: `applied_seq`, the newest stored `maintained`
receipt, and `applied_statement`, the counter it names (both -1: none is stored).
`door_statements_by_kind` answers "the newest ack queued for the door" without reading its queue, and
`handhelds_revoked` "a revoked handheld the door has yet to learn of" without reading every handheld.

The backfill decodes each door's newest `maintained` receipt with the protocol's decoder: the counter
exists only inside the signed receipt.

Revision ID: 0004
"""

import sqlalchemy as sa
from alembic import op

from protocol.receipt import decode_receipt

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    for name in ("applied_seq", "applied_statement"):
        op.add_column("receipt_heads", sa.Column(name, sa.BigInteger(), nullable=False, server_default="-1"))
    op.create_index("door_statements_by_kind", "door_statements", ["door_id", "kind", "value"])
    revoked = sa.text("revoked_at IS NOT NULL")
    op.create_index(
        "handhelds_revoked", "handhelds", ["key_id"], sqlite_where=revoked, postgresql_where=revoked
    )
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


def downgrade() -> None:
    op.drop_index("handhelds_revoked", "handhelds")
    op.drop_index("door_statements_by_kind", "door_statements")
    for name in ("applied_statement", "applied_seq"):
        op.drop_column("receipt_heads", name)
