"""Payments taken back: a refund the Comune made or a revocation in a reporting flow is a row of
`debtor_payments` with a negative amount, its kind, and the payment it takes back.

Revision ID: 0023
Revises: 0022
"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None
S = "contact"


def upgrade() -> None:
    # payment | refund | revocation
    op.add_column(
        "debtor_payments", sa.Column("kind", sa.Text, nullable=False, server_default="payment"), schema=S
    )
    op.add_column("debtor_payments", sa.Column("of_payment", sa.Uuid), schema=S)


def downgrade() -> None:
    op.drop_column("debtor_payments", "of_payment", schema=S)
    op.drop_column("debtor_payments", "kind", schema=S)
