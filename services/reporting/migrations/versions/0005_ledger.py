"""The reporting ledger: the office's decisions on positions, the payments' pagoPA references and
revocations, refunds, plans, a row per debtor (attempts, conversations, last outcome, promises,
tracing) and the log of every event projected, from which `riscossa replay reporting` rebuilds.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

from services.kernel.migrate import tenant_rls

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None
S = "reporting"
NOW = sa.text("now()")
NEW_TABLES = ("refunds", "debtors", "plans", "event_log")


def _count(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.Integer, nullable=False, server_default="0")


def upgrade() -> None:
    # open | cancelled (sgravio); original_cents: the amount assigned before the office corrected it.
    op.add_column("positions", sa.Column("state", sa.Text, nullable=False, server_default="open"), schema=S)
    op.add_column("positions", sa.Column("original_cents", sa.BigInteger), schema=S)
    op.add_column("positions", sa.Column("decided_at", sa.DateTime(timezone=True)), schema=S)
    op.add_column("positions", sa.Column("plan_id", sa.Uuid), schema=S)
    op.add_column("positions", sa.Column("settled_on", sa.Date), schema=S)
    op.create_index("positions_debtor", "positions", ["tenant_id", "debtor_id"], schema=S)
    op.create_index("positions_type_year", "positions", ["tenant_id", "revenue_type", "year"], schema=S)
    for name, default in (("source", "manual"), ("iuv", ""), ("receipt_ref", ""), ("flow_id", "")):
        op.add_column("payments", sa.Column(name, sa.Text, nullable=False, server_default=default), schema=S)
    op.add_column("payments", sa.Column("debtor_id", sa.Uuid), schema=S)
    op.add_column("payments", sa.Column("revoked_on", sa.Date), schema=S)
    op.add_column(
        "payments",
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        schema=S,
    )
    op.create_index("payments_paid_on", "payments", ["tenant_id", "paid_on"], schema=S)
    op.create_index("payments_position", "payments", ["tenant_id", "position_id"], schema=S)
    op.create_index("outcomes_debtor", "outcomes", ["tenant_id", "debtor_id", "recorded_at"], schema=S)
    op.add_column(
        "case_answers",
        sa.Column("position_ids", ARRAY(sa.Uuid), nullable=False, server_default="{}"),
        schema=S,
    )
    op.create_table(
        "refunds",
        sa.Column("refund_id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("payment_id", sa.Uuid, nullable=False),
        sa.Column("position_id", sa.Uuid, nullable=False),
        sa.Column("amount_cents", sa.BigInteger, nullable=False),
        sa.Column("refunded_on", sa.Date, nullable=False),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        schema=S,
    )
    op.create_index("refunds_refunded_on", "refunds", ["tenant_id", "refunded_on"], schema=S)
    op.create_table(
        "debtors",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("debtor_id", sa.Uuid, primary_key=True),
        _count("attempts"),  # outcomes recorded
        _count("conversations"),  # outcomes in which a person answered
        sa.Column("last_outcome", sa.Text, nullable=False, server_default=""),
        sa.Column("last_outcome_at", sa.DateTime(timezone=True)),
        _count("promises"),
        sa.Column("promised_cents", sa.BigInteger, nullable=False, server_default="0"),
        # "" | made | kept | broken: the last promise's state.
        sa.Column("promise_state", sa.Text, nullable=False, server_default=""),
        sa.Column("promise_due_on", sa.Date),
        # The data-quality grade after the last contact change: phone | address | none ("" unknown).
        sa.Column("grade", sa.Text, nullable=False, server_default=""),
        _count("traced"),  # contact data found by tracing
        _count("invalidated"),  # contact data found wrong
        schema=S,
    )
    op.create_table(
        "plans",
        sa.Column("plan_id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("debtor_id", sa.Uuid, nullable=False),
        sa.Column("position_ids", ARRAY(sa.Uuid), nullable=False),
        sa.Column("revenue_type", sa.Text, nullable=False),
        sa.Column("amount_cents", sa.BigInteger, nullable=False),
        sa.Column("installments", sa.Integer, nullable=False),
        sa.Column("first_due_date", sa.Date, nullable=False),
        sa.Column("created_by", sa.Text, nullable=False),
        _count("extensions"),
        sa.Column("lapsed_on", sa.Date),
        sa.Column("residual_cents", sa.BigInteger),
        schema=S,
    )
    op.create_index("plans_debtor", "plans", ["tenant_id", "debtor_id"], schema=S)
    op.create_table(
        "event_log",
        sa.Column("seq", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("consumer", sa.Text, nullable=False),
        sa.Column("message_id", sa.Uuid, nullable=False),
        sa.Column("routing_key", sa.Text, nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("logged_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.UniqueConstraint("consumer", "message_id", name="event_log_once"),
        schema=S,
    )
    op.create_index("event_log_tenant", "event_log", ["tenant_id", "seq"], schema=S)
    for table in NEW_TABLES:
        for statement in tenant_rls(S, table):
            op.execute(statement)


def downgrade() -> None:
    for table in reversed(NEW_TABLES):
        op.drop_table(table, schema=S)
    op.drop_column("case_answers", "position_ids", schema=S)
    for name in ("source", "iuv", "receipt_ref", "flow_id", "debtor_id", "revoked_on", "received_at"):
        op.drop_column("payments", name, schema=S)
    for name in ("state", "original_cents", "decided_at", "plan_id", "settled_on"):
        op.drop_column("positions", name, schema=S)
