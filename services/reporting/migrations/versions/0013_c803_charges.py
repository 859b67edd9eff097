"""The c.803 collection charges a debtor paid (payments' `ChargesPaid`, `ChargesRevoked`): kept
apart from the positions' payments, shown beside the aggio and never in its base.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

from services.kernel.migrate import tenant_rls

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None
S = "reporting"


def upgrade() -> None:
    op.create_table(
        "charges",
        sa.Column("payment_id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("plan_id", sa.Uuid, nullable=False),
        sa.Column("debtor_id", sa.Uuid, nullable=False),
        sa.Column("revenue_type", sa.Text, nullable=False),
        sa.Column("amount_cents", sa.BigInteger, nullable=False),
        sa.Column("paid_on", sa.Date, nullable=False),
        sa.Column("iuv", sa.Text, nullable=False, server_default=""),
        sa.Column("receipt_ref", sa.Text, nullable=False, server_default=""),
        sa.Column("flow_id", sa.Text, nullable=False, server_default=""),
        sa.Column("revoked_on", sa.Date),
        schema=S,
    )
    op.create_index("charges_paid_on", "charges", ["tenant_id", "paid_on"], schema=S)
    for statement in tenant_rls(S, "charges"):
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("charges", schema=S)
