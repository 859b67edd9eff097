"""A Comune's own steps of the call script, per revenue type ("*": all), between the fixed ones.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from services.kernel.migrate import tenant_rls

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None
S = "contact"


def upgrade() -> None:
    op.create_table(
        "call_scripts",
        sa.Column("tenant_id", sa.Uuid, primary_key=True),
        sa.Column("revenue_type", sa.Text, primary_key=True),
        sa.Column("steps", JSONB, nullable=False),
        sa.Column("updated_by", sa.Text, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema=S,
    )
    for statement in tenant_rls(S, "call_scripts"):
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("call_scripts", schema=S)
