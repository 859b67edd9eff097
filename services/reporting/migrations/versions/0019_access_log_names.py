"""The access log keeps the person's name beside their id (the Comune's register of accesses).

Revision ID: 0019
Revises: 0018
"""

from services.kernel.migrate import name_access_log, unname_access_log

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    name_access_log("reporting")


def downgrade() -> None:
    unname_access_log("reporting")
