"""One parcel per barcode at a stop, kept by the database.

The grant gate finds the scanned parcel by (route, stop, barcode) inside one statement
(`grants.take_grant_slot`): two parcels with one barcode at a stop made that lookup fail on
PostgreSQL ("more than one row returned by a subquery", a 500) and pick either parcel on SQLite.
The scenario loader already refuses such a route; now the schema does too, and the unique index is
the lookup's own (it scanned the route's parcels by the primary key's prefix before).

Revision ID: 0007
"""

from alembic import op

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    op.create_index("packages_by_barcode", "packages", ["route_id", "stop_id", "barcode"], unique=True)


def downgrade() -> None:
    op.drop_index("packages_by_barcode", table_name="packages")
