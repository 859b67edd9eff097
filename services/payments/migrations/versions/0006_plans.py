"""Installment plans: the plan, the positions it covers and its installments.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

from services.kernel.migrate import tenant_rls

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None
S = "payments"


def upgrade() -> None:
    op.create_table(
        "plans",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("debtor_id", sa.Uuid, nullable=False),
        sa.Column("revenue_type", sa.Text, nullable=False),
        sa.Column("amount_cents", sa.BigInteger, nullable=False),
        sa.Column("installments", sa.Integer, nullable=False),
        sa.Column("plan_date", sa.Date, nullable=False),
        sa.Column("first_due_date", sa.Date, nullable=False),
        sa.Column("income_declared", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("status", sa.Text, nullable=False, server_default="active"),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("amount_cents > 0 AND installments >= 1", name="plans_sizes"),
        schema=S,
    )
    op.create_index("plans_debtor", "plans", ["tenant_id", "debtor_id"], schema=S)
    op.create_table(
        "plan_positions",
        sa.Column("plan_id", sa.Uuid, sa.ForeignKey(f"{S}.plans.id"), primary_key=True),
        sa.Column("position_id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.ForeignKeyConstraint(
            ["tenant_id", "position_id"], [f"{S}.positions.tenant_id", f"{S}.positions.id"]
        ),
        schema=S,
    )
    # A position is in at most one active plan.
    op.create_index(
        "plan_positions_active",
        "plan_positions",
        ["tenant_id", "position_id"],
        unique=True,
        schema=S,
        postgresql_where=sa.text("active"),
    )
    op.create_table(
        "plan_installments",
        sa.Column("plan_id", sa.Uuid, sa.ForeignKey(f"{S}.plans.id"), primary_key=True),
        sa.Column("number", sa.Integer, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("due_date", sa.Date, nullable=False),
        sa.Column("principal_cents", sa.BigInteger, nullable=False),
        sa.Column("interest_cents", sa.BigInteger, nullable=False),
        schema=S,
    )
    for table in ("plans", "plan_positions", "plan_installments"):
        for statement in tenant_rls(S, table):
            op.execute(statement)


def downgrade() -> None:
    for table in ("plan_installments", "plan_positions", "plans"):
        op.drop_table(table, schema=S)
