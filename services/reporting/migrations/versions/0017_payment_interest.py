"""What of a payment paid a plan's interest (`payments.interest_cents`, from the payment events'
`interest_cents`): the interest is owed on top of the debt, so a position's collected amount, the
totals and the relazione's «riscosso» count `amount_cents - interest_cents` (the carico less what
was collected is then the residual of the debt, never below zero at a plan's end). The aggio's
base keeps the whole amount: the money the Comune received. Events before it carried none: 0.

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None
S = "reporting"


def upgrade() -> None:
    op.add_column(
        "payments", sa.Column("interest_cents", sa.BigInteger, nullable=False, server_default="0"), schema=S
    )


def downgrade() -> None:
    op.drop_column("payments", "interest_cents", schema=S)
