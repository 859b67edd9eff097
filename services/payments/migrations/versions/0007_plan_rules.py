"""A Comune's own installment rules (L. 160/2019 c.797) per revenue type, every change kept with the
day it takes effect: a plan follows the rules in force on the day it is made.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from services.kernel.migrate import tenant_rls

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None
S = "payments"


def upgrade() -> None:
    op.create_table(
        "plan_rules",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("revenue_type", sa.Text, nullable=False),
        sa.Column("valid_from", sa.Date, nullable=False),
        sa.Column("bands", JSONB, nullable=False),
        sa.Column("min_installment_cents", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("interest_rate", sa.Numeric(6, 3)),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema=S,
    )
    op.create_index(
        "plan_rules_in_force", "plan_rules", ["tenant_id", "revenue_type", "valid_from", "id"], schema=S
    )
    for statement in tenant_rls(S, "plan_rules"):
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("plan_rules", schema=S)
