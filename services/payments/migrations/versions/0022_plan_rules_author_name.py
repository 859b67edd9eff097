"""The name of who saved a Comune's plan rules, as their identity said then (the rules page showed
their user id).

Revision ID: 0022
Revises: 0021
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None
S = "payments"


def upgrade() -> None:
    op.add_column("plan_rules", sa.Column("created_by_name", sa.Text), schema=S)


def downgrade() -> None:
    op.drop_column("plan_rules", "created_by_name", schema=S)
