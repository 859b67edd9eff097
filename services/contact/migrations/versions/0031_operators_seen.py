"""The operators who opened a Comune's queue (`operators_seen`): «Affida a» on the supervisors' board
offers them before their first call.

Revision ID: 0031
Revises: 0030
"""

import sqlalchemy as sa
from alembic import op

from services.kernel.migrate import tenant_rls

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None
S = "contact"


def upgrade() -> None:
    op.create_table(
        "operators_seen",
        sa.Column("tenant_id", sa.Uuid, primary_key=True),
        sa.Column("operator", sa.Text, primary_key=True),
        sa.Column("operator_name", sa.Text),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        schema=S,
    )
    for statement in tenant_rls(S, "operators_seen"):
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("operators_seen", schema=S)
