"""The old flat aggio rate (`reporting.settings`) is gone: 0006 copied it into each Comune's
contract, which is now the only source of the aggio.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

from services.kernel.migrate import tenant_rls

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None
S = "reporting"


def upgrade() -> None:
    op.drop_table("settings", schema=S)


def downgrade() -> None:
    op.create_table(
        "settings",
        sa.Column("tenant_id", sa.Uuid, primary_key=True),
        sa.Column("aggio_rate_bp", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")),
        sa.Column("updated_by", sa.Text, nullable=False, server_default=""),
        schema=S,
    )
    for statement in tenant_rls(S, "settings"):
        op.execute(statement)
