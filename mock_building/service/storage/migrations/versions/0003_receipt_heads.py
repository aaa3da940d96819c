"""Receipt heads: one row per door, so an upload costs its batch, not the door's whole history.

`through_seq`: every receipt 0..through_seq is stored (-1 while seq 0 is missing); `top_seq` and
`top_digest`: the newest stored receipt. Backfilled from the stored receipts; `receipt_gaps`
(kept by every upload since the baseline) already holds each door's gaps.

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.create_table(
        "receipt_heads",
        sa.Column("door_id", sa.Text(), sa.ForeignKey("doors.id"), primary_key=True),
        sa.Column("through_seq", sa.BigInteger(), nullable=False),
        sa.Column("top_seq", sa.BigInteger(), nullable=False),
        sa.Column("top_digest", sa.LargeBinary()),
    )
    # through_seq: with seq 0 stored, the lowest stored seq whose successor is missing.
    op.execute(
        "INSERT INTO receipt_heads (door_id, through_seq, top_seq, top_digest)"
        " SELECT t.door_id,"
        " CASE WHEN EXISTS (SELECT 1 FROM receipts z WHERE z.door_id = t.door_id AND z.seq = 0)"
        "  THEN (SELECT MIN(r.seq) FROM receipts r WHERE r.door_id = t.door_id AND NOT EXISTS"
        "   (SELECT 1 FROM receipts n WHERE n.door_id = r.door_id AND n.seq = r.seq + 1))"
        "  ELSE -1 END,"
        " t.seq, t.digest"
        " FROM receipts t WHERE t.seq = (SELECT MAX(m.seq) FROM receipts m WHERE m.door_id = t.door_id)"
    )


def downgrade() -> None:
    op.drop_table("receipt_heads")
