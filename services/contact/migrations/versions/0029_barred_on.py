"""Each debtor's limitation as days, its payments counted (`kernel.limitation`: a payment while the
term runs starts it again): `barred_on`, from when every position still due is time-barred, and
`due_barred_on`, each due position's first time-barred day, replace 0025's `newest_due_year` and
0026's `due_years` (act years, which knew no payment). Filled for existing debtors as 0026 fills:
the owner lifts FORCE for its own statements.

Revision ID: 0029
Revises: 0028
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# The statement the service keeps the two columns with (it reads only tables as they are here).
from services.contact.repository_limitation import REFRESH

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None
S = "contact"


def upgrade() -> None:
    op.add_column("debtors", sa.Column("barred_on", sa.Date), schema=S)
    op.add_column(
        "debtors",
        sa.Column("due_barred_on", postgresql.ARRAY(sa.Date), nullable=False, server_default="{}"),
        schema=S,
    )
    op.execute(f"ALTER TABLE {S}.debtors NO FORCE ROW LEVEL SECURITY")
    bind = op.get_bind()
    tenants = [r[0] for r in bind.execute(sa.text(f"SELECT DISTINCT tenant_id FROM {S}.debtors"))]
    for tenant in tenants:
        ids = [
            r[0]
            for r in bind.execute(sa.text(f"SELECT id FROM {S}.debtors WHERE tenant_id = :t"), {"t": tenant})
        ]
        bind.execute(REFRESH, {"tenant": tenant, "ids": ids})
    op.execute(f"ALTER TABLE {S}.debtors FORCE ROW LEVEL SECURITY")
    op.drop_column("debtors", "due_years", schema=S)
    op.drop_column("debtors", "newest_due_year", schema=S)


def downgrade() -> None:
    op.add_column("debtors", sa.Column("newest_due_year", sa.SmallInteger), schema=S)
    op.add_column(
        "debtors",
        sa.Column("due_years", postgresql.ARRAY(sa.SmallInteger), nullable=False, server_default="{}"),
        schema=S,
    )
    op.drop_column("debtors", "due_barred_on", schema=S)
    op.drop_column("debtors", "barred_on", schema=S)
