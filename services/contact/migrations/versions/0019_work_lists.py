"""The operators' work lists: per Comune and operator, the revenue types, years and band of the
amount owed of the debtors the queue offers them from the pool (none: the whole pool).

Revision ID: 0019
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

from services.kernel.migrate import tenant_rls

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None
S = "contact"


def upgrade() -> None:
    op.create_table(
        "work_lists",
        sa.Column("tenant_id", sa.Uuid, primary_key=True),
        sa.Column("operator", sa.Text, primary_key=True),
        sa.Column("operator_name", sa.Text),
        sa.Column("revenue_types", ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("year_from", sa.SmallInteger),
        sa.Column("year_to", sa.SmallInteger),
        sa.Column("min_cents", sa.BigInteger),
        sa.Column("max_cents", sa.BigInteger),
        sa.Column("updated_by", sa.Text, nullable=False),
        sa.Column("updated_by_name", sa.Text),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint(
            "year_from IS NULL OR year_to IS NULL OR year_from <= year_to", name="work_lists_years"
        ),
        sa.CheckConstraint("min_cents IS NULL OR min_cents > 0", name="work_lists_min"),
        sa.CheckConstraint(
            "max_cents IS NULL OR (max_cents > 0 AND (min_cents IS NULL OR min_cents <= max_cents))",
            name="work_lists_band",
        ),
        schema=S,
    )
    for statement in tenant_rls(S, "work_lists"):
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("work_lists", schema=S)
