"""The end of a mandate: the Comune's closure, and an access log the erasure may empty.

Revision ID: 0009
Revises: 0008
"""

from services.kernel.migrate_erasure import (
    create_closures,
    drop_closures,
    erasable_access_log,
    strict_access_log,
)

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_closures("ingest")
    erasable_access_log("ingest")


def downgrade() -> None:
    strict_access_log("ingest")
    drop_closures("ingest")
