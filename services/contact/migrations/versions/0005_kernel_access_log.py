"""The contact service's access log takes the kernel's shape (`db.access_log_table`), like the others:
`debtor_id` becomes `subject_id`, and a `detail` column is added. Rows and the append-only trigger stay.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None
S = "contact"


def upgrade() -> None:
    op.execute(f"ALTER TABLE {S}.access_log RENAME COLUMN debtor_id TO subject_id")
    op.execute(f"ALTER TABLE {S}.access_log ALTER COLUMN subject_id DROP NOT NULL")
    op.execute(f"ALTER TABLE {S}.access_log ADD COLUMN detail text NOT NULL DEFAULT ''")
    op.execute(f"ALTER INDEX {S}.access_log_debtor RENAME TO access_log_subject")


def downgrade() -> None:
    op.execute(f"ALTER INDEX {S}.access_log_subject RENAME TO access_log_debtor")
    op.execute(f"ALTER TABLE {S}.access_log DROP COLUMN detail")
    op.execute(f"ALTER TABLE {S}.access_log ALTER COLUMN subject_id SET NOT NULL")
    op.execute(f"ALTER TABLE {S}.access_log RENAME COLUMN subject_id TO debtor_id")
