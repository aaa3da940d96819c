"""Portable ordering and a shared grant rate limit.

- `packages.seq`: a stop's parcels in the scenario's order (the order was SQLite's rowid).
- `grant_rate`: the per-driver grant rate limit lives in the database, so it holds across every
  worker process: one row per key with its theoretical arrival time (GCRA), moved by one
  conditional UPDATE.
- `grants_revoked_by_door`: the revoked grants of a door, found without reading its every grant.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.add_column("packages", sa.Column("seq", sa.BigInteger(), nullable=False, server_default="0"))
    op.create_table(
        "grant_rate",
        sa.Column("key", sa.Text(), primary_key=True),
        sa.Column("tat_epoch", sa.Double(), nullable=False),
    )
    revoked = sa.text("revoked_at IS NOT NULL")
    op.create_index(
        "grants_revoked_by_door", "grants", ["door_id"], sqlite_where=revoked, postgresql_where=revoked
    )


def downgrade() -> None:
    op.drop_index("grants_revoked_by_door", "grants")
    op.drop_table("grant_rate")
    op.drop_column("packages", "seq")
