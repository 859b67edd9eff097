"""The end of a mandate: the Comune's closure, and an access log the erasure may empty.

Revision ID: 0016
Revises: 0015
"""

from services.kernel.migrate_erasure import (
    create_closures,
    drop_closures,
    erasable_access_log,
    strict_access_log,
)

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_closures("payments")
    erasable_access_log("payments")


def downgrade() -> None:
    strict_access_log("payments")
    drop_closures("payments")
