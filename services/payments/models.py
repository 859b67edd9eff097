"""Tables of the payments service (schema `payments`)."""

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from services.kernel.access_log import access_log_table
from services.kernel.db import closures_table, credit_columns, inbox_table, outbox_table
from services.kernel.repository_limitation import limitation_acts_table

metadata = sa.MetaData(schema="payments")


def _who_and_when(verb: str) -> list[sa.Column[object]]:
    """Who did it (`<verb>_by`) and when (`<verb>_at`): a payment recorded, a notice issued, a plan
    or a rule set created."""
    return [
        sa.Column(f"{verb}_by", sa.Text, nullable=False),
        sa.Column(f"{verb}_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    ]


outbox = outbox_table(metadata)
inbox = inbox_table(metadata)
closures = closures_table(metadata)

positions = sa.Table(
    "positions",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid, primary_key=True),
    sa.Column("debtor_id", sa.Uuid, nullable=False),
    sa.Column("fiscal_code", sa.Text, nullable=False),
    sa.Column("debtor_name", sa.Text, nullable=False),
    *credit_columns(),
    sa.Column("paid_cents", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    # open | cancelled (the Ufficio tributi's sgravio: no longer due); original_cents: the amount
    # before the office corrected it (migration 0014).
    sa.Column("state", sa.Text, nullable=False, server_default="open"),
    sa.Column("original_cents", sa.BigInteger),
    sa.Column("decided_at", sa.DateTime(timezone=True)),
    # The act's day the Comune's file gave (migration 0026): the limitation runs from it.
    sa.Column("act_on", sa.Date),
)

payments = sa.Table(
    "payments",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid, nullable=False),
    sa.Column("position_id", sa.Uuid, nullable=False),
    sa.Column("debtor_id", sa.Uuid, nullable=False),
    sa.Column("amount_cents", sa.BigInteger, nullable=False),
    # What of it paid a plan's interest (migration 0023; `domain_interest`): owed on top of the
    # position's amount, so the position's `paid_cents` counts `amount_cents - interest_cents`.
    sa.Column("interest_cents", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("paid_on", sa.Date, nullable=False),
    *_who_and_when("recorded"),
    # The display name of who recorded a manual payment (pagoPA payments: none, `recorded_by` says).
    sa.Column("recorded_by_name", sa.Text),
    sa.Column("idempotency_key", sa.Text),
    # The option and pagoPA receipt it came from (none for a manual payment).
    sa.Column("option_id", sa.Uuid),
    sa.Column("receipt_id", sa.Uuid),
    # PAID, REPORTED, CASHED (pagoPA chain) or REVOKED.
    sa.Column("state", sa.Text, nullable=False, server_default="PAID"),
    # manual, receipt, flow
    sa.Column("source", sa.Text, nullable=False, server_default="manual"),
    sa.Column("reason", sa.Text),
    sa.Column("evidence_key", sa.Text),
    sa.Column("evidence_name", sa.Text),
    sa.ForeignKeyConstraint(
        ["tenant_id", "position_id"], ["payments.positions.tenant_id", "payments.positions.id"]
    ),
)

# Who looked at personal data (searches by taxpayer, position pages).
access_log = access_log_table(metadata)

creditors = sa.Table(
    "creditors",
    metadata,
    sa.Column("tenant_id", sa.Uuid, primary_key=True),
    # What the Comune's notices print of it as creditor; the postal account is optional.
    *(
        sa.Column(name, sa.Text, nullable=False)
        for name in ("name", "fiscal_code", "segregation_code", "cbill", "iban")
    ),
    sa.Column("postal_account", sa.Text),
    sa.Column("applies_charges", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("reminder_days", sa.Integer, nullable=False, server_default="7"),
    sa.Column("gpd_endpoint", sa.Text),
    sa.Column("gpd_api_key", sa.Text),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
)

notice_numbers = sa.Table(
    "notice_numbers",
    metadata,
    sa.Column("tenant_id", sa.Uuid, primary_key=True),
    sa.Column("next_base", sa.BigInteger, nullable=False),
)

payment_options = sa.Table(
    "payment_options",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid, nullable=False),
    # A position's own option, or a plan's (installment None: the single payment of the plan).
    sa.Column("position_id", sa.Uuid),
    sa.Column("plan_id", sa.Uuid),
    sa.Column("installment", sa.Integer),
    sa.Column("debtor_id", sa.Uuid, nullable=False),
    sa.Column("nav", sa.Text, nullable=False),
    sa.Column("iuv", sa.Text, nullable=False),
    sa.Column("amount_cents", sa.BigInteger, nullable=False),
    sa.Column("due_date", sa.Date, nullable=False),
    sa.Column("status", sa.Text, nullable=False, server_default="payable"),
    *_who_and_when("issued"),
    # debt, or charges: a plan's c.803 collection charges, a debt of their own (migration 0018).
    sa.Column("kind", sa.Text, nullable=False, server_default="debt"),
)

plans = sa.Table(
    "plans",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid, nullable=False),
    sa.Column("debtor_id", sa.Uuid, nullable=False),
    sa.Column("revenue_type", sa.Text, nullable=False),
    sa.Column("amount_cents", sa.BigInteger, nullable=False),
    sa.Column("installments", sa.Integer, nullable=False),
    sa.Column("plan_date", sa.Date, nullable=False),
    sa.Column("first_due_date", sa.Date, nullable=False),
    sa.Column("income_declared", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("status", sa.Text, nullable=False, server_default="active"),
    *_who_and_when("created"),
    sa.Column("reminder_sent_at", sa.DateTime(timezone=True)),
    sa.Column("lapsed_on", sa.Date),
    sa.Column("charges_cents", sa.BigInteger, nullable=False, server_default="0"),
    # What the office's corrections took off its positions since (migration 0020): the charges
    # stand on amount_cents - corrected_cents.
    sa.Column("corrected_cents", sa.BigInteger, nullable=False, server_default="0"),
)

plan_positions = sa.Table(
    "plan_positions",
    metadata,
    sa.Column("plan_id", sa.Uuid, primary_key=True),
    sa.Column("position_id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
)

plan_installments = sa.Table(
    "plan_installments",
    metadata,
    sa.Column("plan_id", sa.Uuid, primary_key=True),
    sa.Column("number", sa.Integer, primary_key=True),
    sa.Column("tenant_id", sa.Uuid, nullable=False),
    sa.Column("due_date", sa.Date, nullable=False),
    sa.Column("principal_cents", sa.BigInteger, nullable=False),
    sa.Column("interest_cents", sa.BigInteger, nullable=False),
    sa.Column("paid_cents", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("reminded_at", sa.DateTime(timezone=True)),
    # The day a refund or a revoked payment made it due again (migration 0017; domain_lapse).
    sa.Column("reopened_on", sa.Date),
    # The interest a plan settled early no longer asks of it (migration 0025).
    sa.Column("spared_interest_cents", sa.BigInteger, nullable=False, server_default="0"),
)

plan_rules = sa.Table(
    "plan_rules",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("tenant_id", sa.Uuid, nullable=False),
    sa.Column("revenue_type", sa.Text, nullable=False),
    sa.Column("valid_from", sa.Date, nullable=False),
    sa.Column("bands", JSONB, nullable=False),
    sa.Column("min_installment_cents", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("interest_rate", sa.Numeric(6, 3)),
    *_who_and_when("created"),
    # Who saved them, by name as their identity said then (migration 0022; null before it).
    sa.Column("created_by_name", sa.Text),
)

# The legal interest rate (art. 1284 c.c.) from each day, percent a year: national, the same for
# every Comune, so no tenant column (migration 0009). Rows are only added, each with who and when.
legal_rates = sa.Table(
    "legal_rates",
    metadata,
    sa.Column("valid_from", sa.Date, primary_key=True),
    sa.Column("rate", sa.Numeric(6, 3), nullable=False),
    sa.Column("decree", sa.Text, nullable=False, server_default=""),
    *_who_and_when("created"),
    # As the identity named them when they added it (None: added before it was kept).
    sa.Column("created_by_name", sa.Text),
)

# The Comune's acts interrupting the limitation, from `reporting.limitation_interrupted` (migration
# 0027): counted with the payments by `kernel.limitation`.
limitation_acts = limitation_acts_table(metadata)
