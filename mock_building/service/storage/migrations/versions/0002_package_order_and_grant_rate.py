"""Portable ordering and a shared grant rate limit.

- `packages.seq`: a stop's parcels in the scenario's order (the order was SQLite's rowid).
- `grant_rate_keys` / `grant_attempts`: the per-driver grant rate limit lives in the database, so it
  holds across every worker process; a key's row is locked while its window is counted.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.add_column("packages", sa.Column("seq", sa.BigInteger(), nullable=False, server_default="0"))
    op.create_table("grant_rate_keys", sa.Column("key", sa.Text(), primary_key=True))
    op.create_table(
        "grant_attempts",
        sa.Column("key", sa.Text(), sa.ForeignKey("grant_rate_keys.key"), nullable=False),
        sa.Column("at_epoch", sa.Double(), nullable=False),
    )
    op.create_index("grant_attempts_by_key", "grant_attempts", ["key", "at_epoch"])


def downgrade() -> None:
    op.drop_index("grant_attempts_by_key", "grant_attempts")
    op.drop_table("grant_attempts")
    op.drop_table("grant_rate_keys")
    op.drop_column("packages", "seq")
