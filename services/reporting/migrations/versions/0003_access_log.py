"""Append-only log of who downloaded a relazione di scarico (it lists every debtor).

Revision ID: 0003
Revises: 0002
"""

from services.kernel.migrate import create_access_log, drop_access_log

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_access_log("reporting")


def downgrade() -> None:
    drop_access_log("reporting")
