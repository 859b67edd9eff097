"""Compress outbox bodies with lz4 instead of pglz.

A big batch writes a few thousand events of 500 facts (about 100 kB each) in its transaction;
pglz compression of those bodies was a noticeable part of writing them, lz4 is several times faster.

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE ingest.outbox ALTER COLUMN body SET COMPRESSION lz4")


def downgrade() -> None:
    op.execute("ALTER TABLE ingest.outbox ALTER COLUMN body SET COMPRESSION pglz")
