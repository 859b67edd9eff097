"""The name of the operator holding a debtor, kept with the lease: the supervisors' board shows who
holds what (the contact service knows people only by what their requests say).

Revision ID: 0021
Revises: 0020
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None
S = "contact"


def upgrade() -> None:
    op.add_column("debtors", sa.Column("assigned_name", sa.Text), schema=S)


def downgrade() -> None:
    op.drop_column("debtors", "assigned_name", schema=S)
