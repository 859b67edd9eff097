"""A position's act day (`contracts.PositionFact.act_on`), from which its limitation runs
(`kernel.limitation`); positions registered before have none and count from the end of their
reference year.

Revision ID: 0032
Revises: 0031
"""

import sqlalchemy as sa
from alembic import op

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("debtor_positions", sa.Column("act_on", sa.Date), schema="contact")


def downgrade() -> None:
    op.drop_column("debtor_positions", "act_on", schema="contact")
