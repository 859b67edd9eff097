"""Append-only log of who looked at the personal data the payments service shows.

Revision ID: 0004
Revises: 0003
"""

from services.kernel.migrate import create_access_log, drop_access_log

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_access_log("payments")


def downgrade() -> None:
    drop_access_log("payments")
