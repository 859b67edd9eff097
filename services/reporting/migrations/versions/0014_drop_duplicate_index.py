"""`positions_type_year` (0005) repeats `positions_tenant_type_year` (0002) column for column: every
write to `reporting.positions` kept both. The later one goes.

Revision ID: 0014
Revises: 0013
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None
S = "reporting"


def upgrade() -> None:
    op.drop_index("positions_type_year", "positions", schema=S)


def downgrade() -> None:
    op.create_index("positions_type_year", "positions", ["tenant_id", "revenue_type", "year"], schema=S)
