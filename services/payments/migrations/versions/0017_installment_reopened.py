"""Installments reopened by a refund or a revoked payment: the day they became due again, from which
the lapse rules (c.800) count them as missed.

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None
S = "payments"


def upgrade() -> None:
    op.add_column("plan_installments", sa.Column("reopened_on", sa.Date), schema=S)


def downgrade() -> None:
    op.drop_column("plan_installments", "reopened_on", schema=S)
