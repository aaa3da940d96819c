"""Idempotency keys by age, so the ones whose grants have expired are found and forgotten.

A key answers with its grant only while the grant is live (`GrantGate`); after that its row is
dead weight holding a token, and `grants.forget_spent_requests` deletes such rows oldest first.

Revision ID: 0008
"""

from alembic import op

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    op.create_index("grant_requests_by_age", "grant_requests", ["created_at"])


def downgrade() -> None:
    op.drop_index("grant_requests_by_age", table_name="grant_requests")
