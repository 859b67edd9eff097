"""The name of the operator who recorded a call or a promise, as the card and the board show it
(the id stays in `operator`).

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None
S = "contact"


def upgrade() -> None:
    op.add_column("contacts", sa.Column("operator_name", sa.Text), schema=S)
    op.add_column("promises", sa.Column("operator_name", sa.Text), schema=S)


def downgrade() -> None:
    op.drop_column("promises", "operator_name", schema=S)
    op.drop_column("contacts", "operator_name", schema=S)
