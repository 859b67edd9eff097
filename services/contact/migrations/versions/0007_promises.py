"""Promises to pay made in calls, kept by the payments that follow or broken when their day
passes; the Comune's limit of days for a promise; a debtor waiting on a promise (`promessa`).

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

from services.kernel.migrate import tenant_rls

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None
S = "contact"


STATUSES = ("da_lavorare", "in_lavorazione", "lavorato", "da_richiamare")


def upgrade() -> None:
    op.drop_constraint("debtors_status", "debtors", schema=S, type_="check")
    op.create_check_constraint("debtors_status", "debtors", f"status IN {(*STATUSES, 'promessa')}", schema=S)
    op.add_column(
        "conduct_rules",
        sa.Column("promise_days", sa.SmallInteger, nullable=False, server_default="30"),
        schema=S,
    )
    op.create_table(
        "promises",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("debtor_id", sa.Uuid, nullable=False),
        sa.Column("contact_id", sa.Uuid, nullable=False),
        sa.Column("operator", sa.Text, nullable=False),
        sa.Column("amount_cents", sa.BigInteger, nullable=False),
        sa.Column("due_on", sa.Date, nullable=False),
        sa.Column("paid_cents", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("status", sa.Text, nullable=False, server_default="open"),
        sa.Column("made_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_on", sa.Date),
        sa.CheckConstraint("amount_cents > 0", name="promises_amount_positive"),
        sa.CheckConstraint("status IN ('open', 'kept', 'broken')", name="promises_status"),
        sa.ForeignKeyConstraint(["tenant_id", "debtor_id"], [f"{S}.debtors.tenant_id", f"{S}.debtors.id"]),
        schema=S,
    )
    op.create_index("promises_debtor", "promises", ["tenant_id", "debtor_id", "status"], schema=S)
    op.create_index("promises_due", "promises", ["tenant_id", "status", "due_on"], schema=S)
    for statement in tenant_rls(S, "promises"):
        op.execute(statement)


def downgrade() -> None:
    op.execute(f"UPDATE {S}.debtors SET status = 'lavorato' WHERE status = 'promessa'")
    op.drop_constraint("debtors_status", "debtors", schema=S, type_="check")
    op.create_check_constraint("debtors_status", "debtors", f"status IN {STATUSES}", schema=S)
    op.drop_table("promises", schema=S)
    op.drop_column("conduct_rules", "promise_days", schema=S)
