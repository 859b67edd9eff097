"""The pagoPA notices issued for each debtor (`debtor_notices`, from `payments.notice_issued`): the
Ufficio tributi finds the taxpayer at its counter or on the phone by the code of the notice they
hold (NAV) or its IUV; the debtor's page lists them with amount, due day and what they are for.

Revision ID: 0021
Revises: 0020
"""

import sqlalchemy as sa
from alembic import op

from services.kernel.migrate import tenant_rls

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None
S = "reporting"


def upgrade() -> None:
    op.create_table(
        "debtor_notices",
        sa.Column("tenant_id", sa.Uuid, primary_key=True),
        sa.Column("iuv", sa.Text, primary_key=True),
        sa.Column("nav", sa.Text, nullable=False),
        sa.Column("debtor_id", sa.Uuid, nullable=False),
        sa.Column("amount_cents", sa.BigInteger, nullable=False),
        sa.Column("due_on", sa.Date),
        # A position's notice, or a plan's (installment 0: its single payment; kind "charges").
        sa.Column("position_id", sa.Uuid),
        sa.Column("plan_id", sa.Uuid),
        sa.Column("installment", sa.Integer, nullable=False, server_default="0"),
        sa.Column("kind", sa.Text, nullable=False, server_default="debt"),
        schema=S,
    )
    op.create_index("debtor_notices_nav", "debtor_notices", ["tenant_id", "nav"], schema=S)
    for statement in tenant_rls(S, "debtor_notices"):
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("debtor_notices", schema=S)
