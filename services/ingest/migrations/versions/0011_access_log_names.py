"""The access log keeps the person's name beside their id (the Comune's register of accesses).

Revision ID: 0011
Revises: 0010
"""

from services.kernel.migrate import name_access_log, unname_access_log

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    name_access_log("ingest")


def downgrade() -> None:
    unname_access_log("ingest")
