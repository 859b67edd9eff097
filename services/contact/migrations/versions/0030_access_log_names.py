"""The access log keeps the person's name beside their id (the Comune's register of accesses).

Revision ID: 0030
Revises: 0029
"""

from services.kernel.migrate import name_access_log, unname_access_log

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade() -> None:
    name_access_log("contact")


def downgrade() -> None:
    unname_access_log("contact")
