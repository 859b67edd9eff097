"""The access log keeps the person's name beside their id (the Comune's register of accesses).

Revision ID: 0024
Revises: 0023
"""

from services.kernel.migrate import name_access_log, unname_access_log

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    name_access_log("payments")


def downgrade() -> None:
    unname_access_log("payments")
