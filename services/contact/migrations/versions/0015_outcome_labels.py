"""A Comune's own names for the outcomes (their meanings stay fixed).

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
S = "contact"


def upgrade() -> None:
    op.create_table(
        "outcome_labels",
        sa.Column("tenant_id", sa.Uuid, primary_key=True),
        sa.Column("outcome", sa.Text, primary_key=True),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("updated_by", sa.Text, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema=S,
    )
    for statement in tenant_rls(S, "outcome_labels"):
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("outcome_labels", schema=S)
