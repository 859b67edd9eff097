"""A credit's act day (its notification in the file, else its due day), from which its limitation
runs (`kernel.limitation`): on the rows of a batch and on the positions. Positions registered
before have none: their limitation counts from the end of their reference year.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("batch_rows", sa.Column("act_on", sa.Date), schema="ingest")
    op.add_column("positions", sa.Column("act_on", sa.Date), schema="ingest")


def downgrade() -> None:
    op.drop_column("positions", "act_on", schema="ingest")
    op.drop_column("batch_rows", "act_on", schema="ingest")
