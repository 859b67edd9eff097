"""What the Ufficio tributi's corrections took off a plan's positions after the plan was made: the
c.803 charges are computed again on what stands (`plans.amount_cents` stays the amount granted).

Revision ID: 0020
Revises: 0019
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None
S = "payments"


def upgrade() -> None:
    op.add_column(
        "plans",
        sa.Column("corrected_cents", sa.BigInteger, nullable=False, server_default="0"),
        schema=S,
    )


def downgrade() -> None:
    op.drop_column("plans", "corrected_cents", schema=S)
