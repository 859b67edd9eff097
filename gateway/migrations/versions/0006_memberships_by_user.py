"""An index of memberships by person: every request through the gateway reads the memberships of
the session's person, which the primary key (Comune first) could only find by reading them all.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None
S = "gateway"


def upgrade() -> None:
    op.create_index("memberships_user", "memberships", ["user_id"], schema=S)


def downgrade() -> None:
    op.drop_index("memberships_user", table_name="memberships", schema=S)
