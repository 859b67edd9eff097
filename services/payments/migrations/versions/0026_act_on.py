"""A position's act day (`contracts.PositionFact.act_on`), from which its limitation runs
(`kernel.limitation`): no plan nor notice is made on a position already time-barred. Positions
registered before have none and count from the end of their reference year.

Revision ID: 0026
Revises: 0025
"""

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("positions", sa.Column("act_on", sa.Date), schema="payments")


def downgrade() -> None:
    op.drop_column("positions", "act_on", schema="payments")
