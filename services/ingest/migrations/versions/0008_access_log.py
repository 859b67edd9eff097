"""Append-only log of who looked at the personal data the ingest service shows.

Revision ID: 0008
Revises: 0007
"""

from services.kernel.migrate import create_access_log, drop_access_log

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_access_log("ingest")


def downgrade() -> None:
    drop_access_log("ingest")
