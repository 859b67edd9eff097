"""The act years of a debtor's positions still due (open, not paid off): the queue's limitation
part counts from the oldest of them not yet time-barred (`repository_queue`). Filled for existing
debtors, with `newest_due_year` again: 0025's fill ran as the owner held to row-level security by
FORCE with no Comune set, so it changed no row (the fill lifts FORCE for its own statement, as
reporting's 0006 does).

Revision ID: 0026
Revises: 0025
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None
S = "contact"

FILL = (
    f"ALTER TABLE {S}.debtors NO FORCE ROW LEVEL SECURITY",
    f"UPDATE {S}.debtors d SET due_years = p.years, newest_due_year = p.newest FROM ("
    " SELECT p.tenant_id, p.debtor_id, array_agg(DISTINCT p.year ORDER BY p.year) AS years,"
    f" max(p.year) AS newest FROM {S}.debtor_positions p WHERE p.state = 'open' AND p.amount_cents >"
    f" coalesce((SELECT sum(pay.amount_cents) FROM {S}.debtor_payments pay WHERE pay.tenant_id ="
    " p.tenant_id AND pay.position_id = p.position_id), 0) GROUP BY 1, 2) p"
    " WHERE p.tenant_id = d.tenant_id AND p.debtor_id = d.id",
    f"ALTER TABLE {S}.debtors FORCE ROW LEVEL SECURITY",
)


def upgrade() -> None:
    op.add_column(
        "debtors",
        sa.Column("due_years", postgresql.ARRAY(sa.SmallInteger), nullable=False, server_default="{}"),
        schema=S,
    )
    for statement in FILL:
        op.execute(statement)


def downgrade() -> None:
    op.drop_column("debtors", "due_years", schema=S)
