"""Compress outbox bodies with lz4 instead of pglz.

A big batch writes a few thousand events of 500 facts (about 100 kB each) in its transaction;
pglz compression of those bodies was a noticeable part of writing them, lz4 is several times faster.
Servers built without lz4 keep pglz.

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A server built without lz4 (the embedded one of `make run`) keeps pglz.
    op.execute(
        """DO $$ BEGIN
               ALTER TABLE ingest.outbox ALTER COLUMN body SET COMPRESSION lz4;
           EXCEPTION WHEN feature_not_supported THEN
               RAISE NOTICE 'lz4 not available: outbox bodies stay compressed with pglz';
           END $$"""
    )


def downgrade() -> None:
    op.execute("ALTER TABLE ingest.outbox ALTER COLUMN body SET COMPRESSION pglz")
