"""Outbox and inbox of the payments service.

Revision ID: 0001
"""

from services.kernel.migrate import create_messaging_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_messaging_tables("payments")
