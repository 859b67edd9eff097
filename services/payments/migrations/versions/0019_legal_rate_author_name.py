"""The name of who added a legal rate, as their identity said then (the page showed their user id).

Revision ID: 0019
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None
S = "payments"


def upgrade() -> None:
    op.add_column("legal_rates", sa.Column("created_by_name", sa.Text), schema=S)


def downgrade() -> None:
    op.drop_column("legal_rates", "created_by_name", schema=S)
