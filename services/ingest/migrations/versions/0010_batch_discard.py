"""A batch waiting for its columns may be discarded: who did it and when.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None
S = "ingest"
STATUSES = "('received', 'processing', 'needs_mapping', 'completed', 'failed', 'discarded')"
BEFORE = "('received', 'processing', 'needs_mapping', 'completed', 'failed')"


def upgrade() -> None:
    op.drop_constraint("batches_status", "batches", schema=S)
    op.create_check_constraint("batches_status", "batches", f"status IN {STATUSES}", schema=S)
    op.add_column("batches", sa.Column("discarded_by", sa.Text), schema=S)
    op.add_column("batches", sa.Column("discarded_at", sa.DateTime(timezone=True)), schema=S)


def downgrade() -> None:
    op.execute(f"UPDATE {S}.batches SET status = 'failed' WHERE status = 'discarded'")
    op.drop_column("batches", "discarded_at", schema=S)
    op.drop_column("batches", "discarded_by", schema=S)
    op.drop_constraint("batches_status", "batches", schema=S)
    op.create_check_constraint("batches_status", "batches", f"status IN {BEFORE}", schema=S)
