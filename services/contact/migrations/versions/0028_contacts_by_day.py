"""The calls of a Comune by when they were recorded: the supervisors' board reads today's calls
(and the operators who worked the Comune lately) on every refresh, every 20 seconds, and scanned
all the Comune's calls to find them.

Revision ID: 0028
Revises: 0027
"""

from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None
S = "contact"


def upgrade() -> None:
    op.create_index("contacts_recorded", "contacts", ["tenant_id", "recorded_at"], schema=S)


def downgrade() -> None:
    op.drop_index("contacts_recorded", table_name="contacts", schema=S)
