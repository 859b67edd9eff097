"""The positions and plans handed to pagoPA GPD, so that a position put in a plan and a lapsed plan
are invalidated there too.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

from services.kernel.migrate import tenant_rls

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None
S = "payments"


def upgrade() -> None:
    op.create_table(
        "gpd_positions",
        sa.Column("tenant_id", sa.Uuid, primary_key=True),
        sa.Column("iupd", sa.Text, primary_key=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("subject_id", sa.Uuid, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("published_by", sa.Text, nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("changed_at", sa.DateTime(timezone=True)),
        sa.Column("note", sa.Text),
        sa.CheckConstraint("kind IN ('position', 'plan')", name="gpd_positions_kind"),
        sa.CheckConstraint("status IN ('published', 'invalidated', 'refused')", name="gpd_positions_status"),
        schema=S,
    )
    op.create_index("gpd_positions_subject", "gpd_positions", ["tenant_id", "subject_id"], schema=S)
    for statement in tenant_rls(S, "gpd_positions"):
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("gpd_positions", schema=S)
