"""A building's audit feed in the order its events became visible, so a cursor never skips one.

With several workers, ids are handed out when an event is written but become visible when its
transaction commits: a reader at cursor 11 could have passed an event 10 that committed a moment
later. Now readers number a building's committed, not yet numbered events (`feed_seq`) under that
building's row in `audit_feeds`, after every number handed out before; the feed pages by it.
Existing events keep their id as their number, so cursors held by managers stay valid.

Revision ID: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.add_column("audit_events", sa.Column("feed_seq", sa.BigInteger()))
    op.execute("UPDATE audit_events SET feed_seq = id WHERE building_id IS NOT NULL")
    op.create_table(
        "audit_feeds",
        sa.Column("building_id", sa.Text(), primary_key=True),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
    )
    op.execute(
        "INSERT INTO audit_feeds (building_id, last_seq) SELECT building_id, MAX(id) FROM audit_events"
        " WHERE building_id IS NOT NULL GROUP BY building_id"
    )
    op.drop_index("audit_by_building", table_name="audit_events")
    op.create_index("audit_feed", "audit_events", ["building_id", "feed_seq"])


def downgrade() -> None:
    op.drop_index("audit_feed", table_name="audit_events")
    op.create_index("audit_by_building", "audit_events", ["building_id", "id"])
    op.drop_table("audit_feeds")
    op.drop_column("audit_events", "feed_seq")
