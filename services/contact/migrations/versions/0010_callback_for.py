"""A callback for one operator (`callback_for`) or for anyone (null).

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None
S = "contact"


def upgrade() -> None:
    op.add_column("debtors", sa.Column("callback_for", sa.Text), schema=S)


def downgrade() -> None:
    op.drop_column("debtors", "callback_for", schema=S)
