"""Refunds of payments: the Comune gave back part or all of a payment (e.g. one made twice); the
position owes that amount again and `PaymentRefunded` tells the other services.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

from services.kernel.migrate import tenant_rls

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None
S = "payments"


def upgrade() -> None:
    op.create_table(
        "refunds",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("payment_id", sa.Uuid, nullable=False),
        sa.Column("position_id", sa.Uuid, nullable=False),
        sa.Column("debtor_id", sa.Uuid, nullable=False),
        sa.Column("amount_cents", sa.BigInteger, nullable=False),
        sa.Column("refunded_on", sa.Date, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("recorded_by", sa.Text, nullable=False),
        sa.Column("recorded_by_name", sa.Text),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")),
        sa.Column("idempotency_key", sa.Text),
        sa.UniqueConstraint("tenant_id", "idempotency_key", name="refunds_once"),
        sa.CheckConstraint("amount_cents > 0", name="refunds_positive"),
        schema=S,
    )
    op.create_index("refunds_payment", "refunds", ["tenant_id", "payment_id"], schema=S)
    op.create_index("refunds_position", "refunds", ["tenant_id", "position_id"], schema=S)
    for statement in tenant_rls(S, "refunds"):
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("refunds", schema=S)
