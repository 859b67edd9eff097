"""Tables of the reporting ledger (migration 0005): refunds, one row per debtor, plans and the log of
every event projected (what `riscossa replay reporting` rebuilds from)."""

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY

from services.reporting.models import metadata


def _count(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.Integer, nullable=False, server_default="0")


refunds = sa.Table(
    "refunds",
    metadata,
    sa.Column("refund_id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid, nullable=False),
    sa.Column("payment_id", sa.Uuid, nullable=False),
    sa.Column("position_id", sa.Uuid, nullable=False),
    sa.Column("amount_cents", sa.BigInteger, nullable=False),
    sa.Column("refunded_on", sa.Date, nullable=False),
    sa.Column("reason", sa.Text, nullable=False, server_default=""),
)

debtors = sa.Table(
    "debtors",
    metadata,
    sa.Column("tenant_id", sa.Uuid, nullable=False),
    sa.Column("debtor_id", sa.Uuid, primary_key=True),
    _count("attempts"),
    _count("conversations"),
    sa.Column("last_outcome", sa.Text, nullable=False, server_default=""),
    sa.Column("last_outcome_at", sa.DateTime(timezone=True)),
    _count("promises"),
    sa.Column("promised_cents", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("promise_state", sa.Text, nullable=False, server_default=""),
    sa.Column("promise_due_on", sa.Date),
    sa.Column("grade", sa.Text, nullable=False, server_default=""),
    _count("traced"),
    _count("invalidated"),
)

plans = sa.Table(
    "plans",
    metadata,
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
    # What corrections took off its positions while it was active (`PlanReamounted`, migration 0015).
    _count("corrected_cents"),
)

event_log = sa.Table(
    "event_log",
    metadata,
    sa.Column("seq", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("tenant_id", sa.Uuid, nullable=False),
    sa.Column("consumer", sa.Text, nullable=False),
    sa.Column("message_id", sa.Uuid, nullable=False),
    sa.Column("routing_key", sa.Text, nullable=False),
    sa.Column("body", sa.LargeBinary, nullable=False),
    sa.Column("logged_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.UniqueConstraint("consumer", "message_id", name="event_log_once"),
)

# The c.803 collection charges debtors paid (migration 0013): apart from the positions' payments.
charges = sa.Table(
    "charges",
    metadata,
    sa.Column("payment_id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid, nullable=False),
    sa.Column("plan_id", sa.Uuid, nullable=False),
    sa.Column("debtor_id", sa.Uuid, nullable=False),
    sa.Column("revenue_type", sa.Text, nullable=False),
    sa.Column("amount_cents", sa.BigInteger, nullable=False),
    sa.Column("paid_on", sa.Date, nullable=False),
    sa.Column("iuv", sa.Text, nullable=False, server_default=""),
    sa.Column("receipt_ref", sa.Text, nullable=False, server_default=""),
    sa.Column("flow_id", sa.Text, nullable=False, server_default=""),
    sa.Column("revoked_on", sa.Date),
)

# The pagoPA notices issued for each debtor (migration 0021, `payments.notice_issued`): the portal's
# search finds a taxpayer by the code they hold.
debtor_notices = sa.Table(
    "debtor_notices",
    metadata,
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
)
