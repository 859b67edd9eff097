"""The Ufficio tributi's decisions on positions: a cancelled position (sgravio) is no longer due
(`state`, `decided_at`), a corrected one keeps the amount it had before (`original_cents`).

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None
S = "payments"


def upgrade() -> None:
    op.add_column("positions", sa.Column("state", sa.Text, nullable=False, server_default="open"), schema=S)
    op.add_column("positions", sa.Column("original_cents", sa.BigInteger), schema=S)
    op.add_column("positions", sa.Column("decided_at", sa.DateTime(timezone=True)), schema=S)


def downgrade() -> None:
    op.drop_column("positions", "decided_at", schema=S)
    op.drop_column("positions", "original_cents", schema=S)
    op.drop_column("positions", "state", schema=S)
