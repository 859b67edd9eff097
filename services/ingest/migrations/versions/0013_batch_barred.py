"""A batch's accepted rows already time-barred when it was loaded (the «limitation» warning,
`kernel.limitation`): how many and their amount, shown on the batch's page.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "batches", sa.Column("barred", sa.Integer, nullable=False, server_default="0"), schema="ingest"
    )
    op.add_column(
        "batches",
        sa.Column("barred_cents", sa.BigInteger, nullable=False, server_default="0"),
        schema="ingest",
    )


def downgrade() -> None:
    op.drop_column("batches", "barred_cents", schema="ingest")
    op.drop_column("batches", "barred", schema="ingest")
