"""A plan settled early (its single notice paid, or its debt paid otherwise) spares the interest
of the installments it closes: `plan_installments.spared_interest_cents` keeps what was spared, and
`interest_cents` what is owed (what had been paid of it, interest first). Before, such installments
were marked paid at principal plus interest, showing interest never paid as paid. Plans settled
before this revision keep their figures (which installments were settled cannot be told apart).

Revision ID: 0025
Revises: 0024
"""

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "plan_installments",
        sa.Column("spared_interest_cents", sa.BigInteger, nullable=False, server_default="0"),
        schema="payments",
    )


def downgrade() -> None:
    op.drop_column("plan_installments", "spared_interest_cents", schema="payments")
