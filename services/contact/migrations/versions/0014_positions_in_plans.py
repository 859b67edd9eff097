"""The payments plan a position is in (as `PlanCreated` and `PlanLapsed` tell), for the card.

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None
S = "contact"


def upgrade() -> None:
    op.add_column("debtor_positions", sa.Column("plan_id", sa.Uuid), schema=S)
    op.add_column("debtor_positions", sa.Column("plan_status", sa.Text), schema=S)


def downgrade() -> None:
    op.drop_column("debtor_positions", "plan_status", schema=S)
    op.drop_column("debtor_positions", "plan_id", schema=S)
