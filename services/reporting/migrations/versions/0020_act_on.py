"""A position's act day (`contracts.PositionFact.act_on`), from which its limitation runs
(`kernel.limitation`); positions registered before have none and count from the end of their
reference year.

Revision ID: 0020
Revises: 0019
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("positions", sa.Column("act_on", sa.Date), schema="reporting")


def downgrade() -> None:
    op.drop_column("positions", "act_on", schema="reporting")
