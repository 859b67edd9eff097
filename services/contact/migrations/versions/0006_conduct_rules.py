"""Conduct rules of collection calls: the Comune's calling rules, the debtors who asked not to be
phoned, and a supervisor's written reason on a call the rules would have refused.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from services.kernel.migrate import tenant_rls

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None
S = "contact"


def upgrade() -> None:
    op.add_column(
        "debtors", sa.Column("do_not_call", sa.Boolean, nullable=False, server_default=sa.false()), schema=S
    )
    op.add_column("contacts", sa.Column("override_reason", sa.Text), schema=S)
    op.create_table(
        "conduct_rules",
        sa.Column("tenant_id", sa.Uuid, primary_key=True),
        sa.Column("windows", JSONB, nullable=False),
        sa.Column("patron_month", sa.SmallInteger),
        sa.Column("patron_day", sa.SmallInteger),
        sa.Column("patron_saint", sa.Text, nullable=False, server_default=""),
        sa.Column("daily_cap", sa.SmallInteger, nullable=False),
        sa.Column("weekly_cap", sa.SmallInteger, nullable=False),
        sa.Column("updated_by", sa.Text, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("daily_cap BETWEEN 1 AND weekly_cap", name="conduct_rules_caps"),
        schema=S,
    )
    for statement in tenant_rls(S, "conduct_rules"):
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("conduct_rules", schema=S)
    op.drop_column("contacts", "override_reason", schema=S)
    op.drop_column("debtors", "do_not_call", schema=S)
