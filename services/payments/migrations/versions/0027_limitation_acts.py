"""The Comune's acts interrupting the limitation (c.c. art. 2943), kept from
`reporting.limitation_interrupted`: one row per act and position, counted with the payments
(`kernel.limitation`) before a plan or a notice is refused as time-barred.

Revision ID: 0027
Revises: 0026
"""

import sqlalchemy as sa
from alembic import op

from services.kernel.migrate import tenant_rls

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None
S = "payments"


def upgrade() -> None:
    op.create_table(
        "limitation_acts",
        sa.Column("tenant_id", sa.Uuid, primary_key=True),
        sa.Column("act_id", sa.Uuid, primary_key=True),
        sa.Column("position_id", sa.Uuid, primary_key=True),
        sa.Column("served_on", sa.Date, nullable=False),
        sa.Column("withdrawn", sa.Boolean, nullable=False, server_default=sa.false()),
        schema=S,
    )
    op.create_index("limitation_acts_position", "limitation_acts", ["tenant_id", "position_id"], schema=S)
    for statement in tenant_rls(S, "limitation_acts"):
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("limitation_acts", schema=S)
