"""Supervisors' quality reviews of operators' calls: a score from 1 to 5 and a comment per call.

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

from services.kernel.migrate import tenant_rls

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None
S = "contact"


def upgrade() -> None:
    op.create_table(
        "quality_reviews",
        sa.Column("tenant_id", sa.Uuid, primary_key=True),
        sa.Column("contact_id", sa.Uuid, primary_key=True),
        sa.Column("operator", sa.Text, nullable=False),
        sa.Column("score", sa.SmallInteger, nullable=False),
        sa.Column("comment", sa.Text, nullable=False, server_default=""),
        sa.Column("reviewer", sa.Text, nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("score BETWEEN 1 AND 5", name="quality_reviews_score"),
        schema=S,
    )
    op.create_index("quality_reviews_operator", "quality_reviews", ["tenant_id", "operator"], schema=S)
    for statement in tenant_rls(S, "quality_reviews"):
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("quality_reviews", schema=S)
