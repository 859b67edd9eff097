"""What the office's corrections took off a plan's positions while it was active (`PlanReamounted`):
the portal says on what the plan's installments stand now.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None
S = "reporting"


def upgrade() -> None:
    op.add_column(
        "plans", sa.Column("corrected_cents", sa.BigInteger, nullable=False, server_default="0"), schema=S
    )


def downgrade() -> None:
    op.drop_column("plans", "corrected_cents", schema=S)
