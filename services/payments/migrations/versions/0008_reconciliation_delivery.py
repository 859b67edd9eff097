"""Reconciliation, delivery and the life of a plan.

- Payment options per plan (one single option and one per installment, the GPD model).
- pagoPA receipts, reporting flows (FdR) and their lines; the payments they become, with the
  pagoPA chain PAID -> REPORTED (-> CASHED later) and revocations; the review queue.
- Imports and bulk jobs with their progress.
- The plan's reminder (sollecito), lapse, extension, installment payments and c.803 charges.
- The Comune's delivery and GPD settings; the debtors' e-mail addresses; the messages sent.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from services.kernel.migrate import tenant_rls

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None
S = "payments"
NEW_TABLES = (
    "receipts",
    "flows",
    "flow_lines",
    "review_items",
    "jobs",
    "plan_extensions",
    "debtor_emails",
    "messages",
)


def _now() -> sa.Column[object]:
    return sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def _options_and_payments() -> None:
    op.alter_column("payment_options", "position_id", nullable=True, schema=S)
    op.add_column("payment_options", sa.Column("plan_id", sa.Uuid), schema=S)
    op.add_column("payment_options", sa.Column("installment", sa.Integer), schema=S)
    op.create_index("payment_options_plan", "payment_options", ["tenant_id", "plan_id"], schema=S)
    op.create_check_constraint(
        "payment_options_owner", "payment_options", "position_id IS NOT NULL OR plan_id IS NOT NULL", schema=S
    )
    for column in (
        sa.Column("option_id", sa.Uuid),
        sa.Column("receipt_id", sa.Uuid),
        sa.Column("state", sa.Text, nullable=False, server_default="PAID"),
        sa.Column("source", sa.Text, nullable=False, server_default="manual"),
        sa.Column("reason", sa.Text),
        sa.Column("evidence_key", sa.Text),
        sa.Column("evidence_name", sa.Text),
    ):
        op.add_column("payments", column, schema=S)
    op.create_index("payments_receipt", "payments", ["tenant_id", "receipt_id"], schema=S)


def _receipts_and_flows() -> None:
    op.create_table(
        "receipts",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("iuv", sa.Text, nullable=False),
        # The PSP's identifier of the collection (identificativoUnivocoRiscossione).
        sa.Column("receipt_ref", sa.Text, nullable=False),
        sa.Column("amount_cents", sa.BigInteger, nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("psp", sa.Text, nullable=False, server_default=""),
        sa.Column("option_id", sa.Uuid),
        # PAID (receipt), REPORTED (in a flow), CASHED (treasury), REVOKED; "" when not applied.
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("applied", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("flow_id", sa.Text),
        sa.Column("source", sa.Text, nullable=False),
        _now(),
        sa.UniqueConstraint("tenant_id", "iuv", "receipt_ref", name="receipts_unique"),
        schema=S,
    )
    op.create_table(
        "flows",
        sa.Column("tenant_id", sa.Uuid, primary_key=True),
        sa.Column("flow_id", sa.Text, primary_key=True),
        sa.Column("flow_date", sa.DateTime(timezone=True), nullable=False),
        sa.Column("settlement_ref", sa.Text, nullable=False),
        sa.Column("settlement_date", sa.Date, nullable=False),
        sa.Column("sender", sa.Text, nullable=False),
        sa.Column("payments_count", sa.Integer, nullable=False),
        sa.Column("total_cents", sa.BigInteger, nullable=False),
        sa.Column("imported_by", sa.Text, nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema=S,
    )
    op.create_table(
        "flow_lines",
        sa.Column("tenant_id", sa.Uuid, primary_key=True),
        sa.Column("flow_id", sa.Text, primary_key=True),
        sa.Column("line", sa.Integer, primary_key=True),
        sa.Column("iuv", sa.Text, nullable=False),
        sa.Column("receipt_ref", sa.Text, nullable=False),
        sa.Column("payment_index", sa.Integer, nullable=False),
        sa.Column("amount_cents", sa.BigInteger, nullable=False),
        sa.Column("outcome", sa.Integer, nullable=False),
        sa.Column("paid_on", sa.Date, nullable=False),
        # matched, no_receipt, amount_differs, revoked
        sa.Column("state", sa.Text, nullable=False),
        schema=S,
    )
    op.create_index("flow_lines_iuv", "flow_lines", ["tenant_id", "iuv", "receipt_ref"], schema=S)
    op.create_table(
        "review_items",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        # partial, over, duplicate, unknown, amount_differs, no_receipt
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("iuv", sa.Text, nullable=False),
        sa.Column("receipt_ref", sa.Text, nullable=False),
        sa.Column("amount_cents", sa.BigInteger, nullable=False),
        sa.Column("expected_cents", sa.BigInteger),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="open"),
        sa.Column("note", sa.Text),
        sa.Column("resolved_by", sa.Text),
        sa.Column("resolved_at", sa.DateTime(timezone=True)),
        _now(),
        sa.UniqueConstraint("tenant_id", "kind", "iuv", "receipt_ref", "source", name="review_items_unique"),
        schema=S,
    )


def _jobs_and_plans() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("file_name", sa.Text, nullable=False, server_default=""),
        sa.Column("status", sa.Text, nullable=False, server_default="queued"),
        sa.Column("total", sa.Integer, nullable=False, server_default="0"),
        sa.Column("done", sa.Integer, nullable=False, server_default="0"),
        sa.Column("result", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("error", sa.Text),
        sa.Column("object_key", sa.Text),
        sa.Column("created_by", sa.Text, nullable=False),
        _now(),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        schema=S,
    )
    for column in (
        sa.Column("reminder_sent_at", sa.DateTime(timezone=True)),
        sa.Column("lapsed_on", sa.Date),
        sa.Column("charges_cents", sa.BigInteger, nullable=False, server_default="0"),
    ):
        op.add_column("plans", column, schema=S)
    op.add_column(
        "plan_installments",
        sa.Column("paid_cents", sa.BigInteger, nullable=False, server_default="0"),
        schema=S,
    )
    op.add_column("plan_installments", sa.Column("reminded_at", sa.DateTime(timezone=True)), schema=S)
    op.create_table(
        "plan_extensions",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("plan_id", sa.Uuid, sa.ForeignKey(f"{S}.plans.id"), nullable=False),
        sa.Column("extended_on", sa.Date, nullable=False),
        sa.Column("installments_before", sa.Integer, nullable=False),
        sa.Column("installments_after", sa.Integer, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("created_by", sa.Text, nullable=False),
        _now(),
        schema=S,
    )
    # c.798: one extension per plan.
    op.create_index(
        "plan_extensions_once", "plan_extensions", ["tenant_id", "plan_id"], unique=True, schema=S
    )


def _settings_and_messages() -> None:
    for column in (
        sa.Column("applies_charges", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("reminder_days", sa.Integer, nullable=False, server_default="7"),
        sa.Column("gpd_endpoint", sa.Text),
        sa.Column("gpd_api_key", sa.Text),
    ):
        op.add_column("creditors", column, schema=S)
    op.create_table(
        "debtor_emails",
        sa.Column("tenant_id", sa.Uuid, primary_key=True),
        sa.Column("contact_id", sa.Uuid, primary_key=True),
        sa.Column("debtor_id", sa.Uuid, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("address", sa.Text, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        schema=S,
    )
    op.create_index("debtor_emails_debtor", "debtor_emails", ["tenant_id", "debtor_id"], schema=S)
    op.create_table(
        "messages",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("debtor_id", sa.Uuid, nullable=False),
        # email, sms
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("recipient", sa.Text, nullable=False),
        # notice, installment_reminder, sollecito
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("plan_id", sa.Uuid),
        sa.Column("position_id", sa.Uuid),
        sa.Column("installment", sa.Integer),
        sa.Column("expires_at", sa.DateTime(timezone=True)),
        sa.Column("sent_by", sa.Text, nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema=S,
    )
    op.create_index("messages_debtor", "messages", ["tenant_id", "debtor_id"], schema=S)


def upgrade() -> None:
    _options_and_payments()
    _receipts_and_flows()
    _jobs_and_plans()
    _settings_and_messages()
    for table in NEW_TABLES:
        for statement in tenant_rls(S, table):
            op.execute(statement)


def downgrade() -> None:
    for table in reversed(NEW_TABLES):
        op.drop_table(table, schema=S)
    op.drop_index("payments_receipt", "payments", schema=S)
    op.drop_constraint("payment_options_owner", "payment_options", schema=S)
    for table, column in (
        ("creditors", "applies_charges"),
        ("creditors", "reminder_days"),
        ("creditors", "gpd_endpoint"),
        ("creditors", "gpd_api_key"),
        ("plan_installments", "paid_cents"),
        ("plan_installments", "reminded_at"),
        ("plans", "reminder_sent_at"),
        ("plans", "lapsed_on"),
        ("plans", "charges_cents"),
        ("payments", "option_id"),
        ("payments", "receipt_id"),
        ("payments", "state"),
        ("payments", "source"),
        ("payments", "reason"),
        ("payments", "evidence_key"),
        ("payments", "evidence_name"),
        ("payment_options", "plan_id"),
        ("payment_options", "installment"),
    ):
        op.drop_column(table, column, schema=S)
    op.alter_column("payment_options", "position_id", nullable=False, schema=S)
