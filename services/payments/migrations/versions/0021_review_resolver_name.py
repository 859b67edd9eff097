"""The name of who resolved a review item, as their identity said then (the page shows it).

Revision ID: 0021
Revises: 0020
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None
S = "payments"


def upgrade() -> None:
    op.add_column("review_items", sa.Column("resolved_by_name", sa.Text), schema=S)


def downgrade() -> None:
    op.drop_column("review_items", "resolved_by_name", schema=S)
