"""The pagoPA notices issued for each debtor (`debtor_notices`, from `payments.notice_issued`): the
operator's search finds a taxpayer by the code of the notice they hold (NAV) or its IUV.

Revision ID: 0033
Revises: 0032
"""

import sqlalchemy as sa
from alembic import op

from services.kernel.migrate import tenant_rls

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None
S = "contact"


def upgrade() -> None:
    op.create_table(
        "debtor_notices",
        sa.Column("tenant_id", sa.Uuid, primary_key=True),
        sa.Column("iuv", sa.Text, primary_key=True),
        sa.Column("nav", sa.Text, nullable=False),
        sa.Column("debtor_id", sa.Uuid, nullable=False),
        schema=S,
    )
    op.create_index("debtor_notices_nav", "debtor_notices", ["tenant_id", "nav"], schema=S)
    for statement in tenant_rls(S, "debtor_notices"):
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("debtor_notices", schema=S)
