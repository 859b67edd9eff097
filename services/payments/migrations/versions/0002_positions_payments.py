"""Positions with their paid amount, and the payments recorded against them.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

from services.kernel.migrate import tenant_rls

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None
S = "payments"


def upgrade() -> None:
    op.create_table(
        "positions",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, primary_key=True),
        sa.Column("debtor_id", sa.Uuid, nullable=False),
        sa.Column("fiscal_code", sa.Text, nullable=False),
        sa.Column("debtor_name", sa.Text, nullable=False),
        sa.Column("revenue_type", sa.Text, nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("act_number", sa.Text, nullable=False),
        sa.Column("amount_cents", sa.BigInteger, nullable=False),
        sa.Column("paid_cents", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        # the last line of defence against overpayment, behind the guarded UPDATE
        sa.CheckConstraint("paid_cents >= 0 AND paid_cents <= amount_cents", name="positions_paid_range"),
        schema=S,
    )
    op.create_index("positions_fiscal_code", "positions", ["tenant_id", "fiscal_code"], schema=S)
    op.create_index("positions_debtor", "positions", ["tenant_id", "debtor_id"], schema=S)
    op.create_table(
        "payments",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("position_id", sa.Uuid, nullable=False),
        sa.Column("debtor_id", sa.Uuid, nullable=False),
        sa.Column("amount_cents", sa.BigInteger, nullable=False),
        sa.Column("paid_on", sa.Date, nullable=False),
        sa.Column("recorded_by", sa.Text, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.ForeignKeyConstraint(
            ["tenant_id", "position_id"], [f"{S}.positions.tenant_id", f"{S}.positions.id"]
        ),
        sa.CheckConstraint("amount_cents > 0", name="payments_amount_positive"),
        schema=S,
    )
    op.create_index("payments_position", "payments", ["tenant_id", "position_id", "paid_on"], schema=S)
    for table in ("positions", "payments"):
        for statement in tenant_rls(S, table):
            op.execute(statement)
