"""The name of who recorded a manual payment, as the position page shows it (the id stays in
`recorded_by`; a name given by the identity provider later may differ, the page shows the one of
the day).

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None
S = "payments"


def upgrade() -> None:
    op.add_column("payments", sa.Column("recorded_by_name", sa.Text), schema=S)


def downgrade() -> None:
    op.drop_column("payments", "recorded_by_name", schema=S)
