"""Payments received, so the queue shows what is still due and stops offering debtors who paid.

Stored apart from `debtors` (no foreign key): a payment may arrive before its position.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

from services.kernel.migrate import tenant_rls

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None
S = "contact"


def upgrade() -> None:
    op.create_table(
        "debtor_payments",
        sa.Column("payment_id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, primary_key=True),
        sa.Column("debtor_id", sa.Uuid, nullable=False),
        sa.Column("position_id", sa.Uuid, nullable=False),
        sa.Column("amount_cents", sa.BigInteger, nullable=False),
        sa.Column("paid_on", sa.Date, nullable=False),
        schema=S,
    )
    op.create_index("debtor_payments_debtor", "debtor_payments", ["tenant_id", "debtor_id"], schema=S)
    for statement in tenant_rls(S, "debtor_payments"):
        op.execute(statement)
