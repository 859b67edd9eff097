"""The newest act year among a debtor's positions still due: when it is time-barred, every due
position is, and the debtor is not leased (`repository_lease`, `services.kernel.limitation`).

Revision ID: 0025
Revises: 0024
"""

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None
S = "contact"


def upgrade() -> None:
    op.add_column("debtors", sa.Column("newest_due_year", sa.SmallInteger), schema=S)
    op.execute(
        f"UPDATE {S}.debtors d SET newest_due_year = p.year FROM (SELECT p.tenant_id, p.debtor_id,"
        f" max(p.year) AS year FROM {S}.debtor_positions p WHERE p.state = 'open' AND p.amount_cents >"
        f" coalesce((SELECT sum(pay.amount_cents) FROM {S}.debtor_payments pay WHERE pay.tenant_id ="
        " p.tenant_id AND pay.position_id = p.position_id), 0) GROUP BY 1, 2) p"
        " WHERE p.tenant_id = d.tenant_id AND p.debtor_id = d.id"
    )


def downgrade() -> None:
    op.drop_column("debtors", "newest_due_year", schema=S)
