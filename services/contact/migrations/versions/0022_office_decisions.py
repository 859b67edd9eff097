"""The Ufficio tributi's decisions on a debtor's positions: a cancelled position (sgravio) is no
longer owed (`state`), a corrected one keeps the amount it had before (`original_cents`).

Revision ID: 0022
Revises: 0021
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None
S = "contact"


def upgrade() -> None:
    op.add_column(
        "debtor_positions", sa.Column("state", sa.Text, nullable=False, server_default="open"), schema=S
    )
    op.add_column("debtor_positions", sa.Column("original_cents", sa.BigInteger), schema=S)


def downgrade() -> None:
    op.drop_column("debtor_positions", "original_cents", schema=S)
    op.drop_column("debtor_positions", "state", schema=S)
