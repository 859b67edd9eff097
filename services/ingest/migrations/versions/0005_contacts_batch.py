"""Index the contacts by the batch that brought them, to publish them when the batch settles.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None
S = "ingest"


def upgrade() -> None:
    op.create_index("contacts_batch", "contacts", ["batch_id"], schema=S)


def downgrade() -> None:
    op.drop_index("contacts_batch", "contacts", schema=S)
