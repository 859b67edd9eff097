"""The end of a mandate: the Comune's closure, and an access log the erasure may empty.

Revision ID: 0024
Revises: 0023
"""

from services.kernel.migrate_erasure import (
    create_closures,
    drop_closures,
    erasable_access_log,
    strict_access_log,
)

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_closures("contact")
    erasable_access_log("contact")


def downgrade() -> None:
    strict_access_log("contact")
    drop_closures("contact")
