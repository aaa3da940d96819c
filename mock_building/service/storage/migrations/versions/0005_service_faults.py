"""Service faults in the database, so `PUT /v1/admin/faults` reaches every worker, not the one asked.

One row (id 1) once anything wrote it; `version` grows with every write, so a worker re-reading it
knows whether anything changed.

Revision ID: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.create_table(
        "service_faults",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("latency_ms", sa.BigInteger(), nullable=False),
        sa.Column("error_rate", sa.Double(), nullable=False),
        sa.Column("down", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name="one_row"),
    )


def downgrade() -> None:
    op.drop_table("service_faults")
