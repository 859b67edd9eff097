"""The statuses the full set of outcomes leads to: paused for the Ufficio tributi (`sospeso`),
calls stopped (`chiuso`), waiting for tracing (`da_rintracciare`).

Revision ID: 0008
Revises: 0007
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None
S = "contact"
BEFORE = ("da_lavorare", "in_lavorazione", "lavorato", "da_richiamare", "promessa")
AFTER = (*BEFORE, "sospeso", "chiuso", "da_rintracciare")


def upgrade() -> None:
    op.drop_constraint("debtors_status", "debtors", schema=S, type_="check")
    op.create_check_constraint("debtors_status", "debtors", f"status IN {AFTER}", schema=S)


def downgrade() -> None:
    op.execute(f"UPDATE {S}.debtors SET status = 'lavorato' WHERE status NOT IN {BEFORE}")
    op.drop_constraint("debtors_status", "debtors", schema=S, type_="check")
    op.create_check_constraint("debtors_status", "debtors", f"status IN {BEFORE}", schema=S)
