"""The Comune's acts interrupting the limitation (c.c. art. 2943), recorded by the Ufficio tributi
on the debtor's page: `limitation_act_records` (the act, who recorded it, its withdrawal) and
`limitation_acts` (one row per position it interrupts, as payments and contact keep them).

Revision ID: 0022
Revises: 0021
"""

import sqlalchemy as sa
from alembic import op

from services.kernel.migrate import tenant_rls

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None
S = "reporting"


def upgrade() -> None:
    op.create_table(
        "limitation_act_records",
        sa.Column("act_id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("debtor_id", sa.Uuid, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("reference", sa.Text, nullable=False, server_default=""),
        sa.Column("served_on", sa.Date, nullable=False),
        sa.Column("recorded_by", sa.Text, nullable=False),
        sa.Column("recorded_by_name", sa.Text, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True)),
        sa.Column("withdrawn_by_name", sa.Text),
        schema=S,
    )
    op.create_index(
        "limitation_act_records_debtor", "limitation_act_records", ["tenant_id", "debtor_id"], schema=S
    )
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
    for table in ("limitation_act_records", "limitation_acts"):
        for statement in tenant_rls(S, table):
            op.execute(statement)


def downgrade() -> None:
    op.drop_table("limitation_acts", schema=S)
    op.drop_table("limitation_act_records", schema=S)
