"""Debtors, their positions, contact history and the card access log.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

from services.kernel.migrate import tenant_rls

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None
S = "contact"
STATUSES = "('da_lavorare', 'in_lavorazione', 'lavorato', 'da_richiamare')"


def upgrade() -> None:
    op.create_table(
        "debtors",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, primary_key=True),
        sa.Column("fiscal_code", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("total_due_cents", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("positions_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("status", sa.Text, nullable=False, server_default="da_lavorare"),
        sa.Column("assigned_to", sa.Text),
        sa.Column("locked_until", sa.DateTime(timezone=True)),
        sa.Column("last_outcome", sa.Text),
        sa.Column("callback_at", sa.DateTime(timezone=True)),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint(f"status IN {STATUSES}", name="debtors_status"),
        sa.CheckConstraint("total_due_cents >= 0", name="debtors_total_nonneg"),
        schema=S,
    )
    op.create_index("debtors_queue", "debtors", ["tenant_id", "status", "total_due_cents"], schema=S)
    op.create_index("debtors_fiscal_code", "debtors", ["tenant_id", "fiscal_code"], schema=S)
    op.create_table(
        "debtor_positions",
        sa.Column("position_id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, primary_key=True),
        sa.Column("debtor_id", sa.Uuid, nullable=False),
        sa.Column("revenue_type", sa.Text, nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("act_number", sa.Text, nullable=False),
        sa.Column("amount_cents", sa.BigInteger, nullable=False),
        sa.ForeignKeyConstraint(["tenant_id", "debtor_id"], [f"{S}.debtors.tenant_id", f"{S}.debtors.id"]),
        schema=S,
    )
    op.create_index("debtor_positions_debtor", "debtor_positions", ["tenant_id", "debtor_id"], schema=S)
    op.create_table(
        "contacts",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("debtor_id", sa.Uuid, nullable=False),
        sa.Column("operator", sa.Text, nullable=False),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        sa.Column("callback_at", sa.DateTime(timezone=True)),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.ForeignKeyConstraint(["tenant_id", "debtor_id"], [f"{S}.debtors.tenant_id", f"{S}.debtors.id"]),
        schema=S,
    )
    op.create_index("contacts_debtor", "contacts", ["tenant_id", "debtor_id", "recorded_at"], schema=S)
    op.create_table(
        "access_log",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("user_id", sa.Text, nullable=False),
        sa.Column("debtor_id", sa.Uuid, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema=S,
    )
    op.create_index("access_log_debtor", "access_log", ["tenant_id", "debtor_id", "at"], schema=S)
    for table in ("debtors", "debtor_positions", "contacts", "access_log"):
        for statement in tenant_rls(S, table):
            op.execute(statement)
    # The audit trail is append-only even for the application role, which is granted UPDATE/DELETE
    # on every table of the schema after migrations.
    op.execute(
        f"""CREATE FUNCTION {S}.access_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'access_log is append-only'; END $$"""
    )
    op.execute(
        f"""CREATE TRIGGER access_log_append_only BEFORE UPDATE OR DELETE ON {S}.access_log
            FOR EACH ROW EXECUTE FUNCTION {S}.access_log_append_only()"""
    )
