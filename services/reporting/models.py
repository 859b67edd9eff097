"""Tables of the reporting service (schema `reporting`): read-side projections and generated reports."""

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from services.kernel.access_log import access_log_table
from services.kernel.db import closures_table, credit_columns, inbox_table, outbox_table

metadata = sa.MetaData(schema="reporting")

outbox = outbox_table(metadata)
inbox = inbox_table(metadata)
closures = closures_table(metadata)


def _now() -> sa.sql.functions.now:
    return sa.func.now()


def _total(name: str, kind: type[sa.Integer] = sa.Integer) -> sa.Column[int]:
    """A running total of a tenant, from zero."""
    return sa.Column(name, kind, nullable=False, server_default="0")


tenant_totals = sa.Table(
    "tenant_totals",
    metadata,
    sa.Column("tenant_id", sa.Uuid, primary_key=True),
    *(_total(f"{name}_cents", sa.BigInteger) for name in ("assigned", "collected")),
    # debtors_contacted is no longer kept nor read (the dashboard counts the debtors worked through
    # the positions the figures count, `repository.debtors_worked`); it stays while a version that
    # still adds to it may run during a deploy, to be dropped by a later migration.
    *(_total(name) for name in ("positions", "debtors_contacted", "outcomes", "payments")),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=_now()),
)

positions = sa.Table(
    "positions",
    metadata,
    sa.Column("tenant_id", sa.Uuid, nullable=False),
    sa.Column("position_id", sa.Uuid, primary_key=True),
    sa.Column("debtor_id", sa.Uuid, nullable=False),
    sa.Column("fiscal_code", sa.Text, nullable=False),
    sa.Column("debtor_name", sa.Text, nullable=False),
    *credit_columns(),
    sa.Column("collected_cents", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("batch_id", sa.Text, nullable=False, server_default=""),
    sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False, server_default=_now()),
    # open | cancelled (the office's sgravio); original_cents: the amount before the office corrected it.
    sa.Column("state", sa.Text, nullable=False, server_default="open"),
    sa.Column("original_cents", sa.BigInteger),
    sa.Column("decided_at", sa.DateTime(timezone=True)),
    sa.Column("plan_id", sa.Uuid),
    sa.Column("settled_on", sa.Date),
    # The act's day the Comune's file gave (migration 0020): the limitation runs from it.
    sa.Column("act_on", sa.Date),
)

payments = sa.Table(
    "payments",
    metadata,
    sa.Column("tenant_id", sa.Uuid, nullable=False),
    sa.Column("payment_id", sa.Uuid, primary_key=True),
    sa.Column("position_id", sa.Uuid, nullable=False),
    sa.Column("amount_cents", sa.BigInteger, nullable=False),
    sa.Column("paid_on", sa.Date, nullable=False),
    sa.Column("debtor_id", sa.Uuid),
    # manual | receipt | flow, with the pagoPA references when known.
    sa.Column("source", sa.Text, nullable=False, server_default="manual"),
    sa.Column("iuv", sa.Text, nullable=False, server_default=""),
    sa.Column("receipt_ref", sa.Text, nullable=False, server_default=""),
    sa.Column("flow_id", sa.Text, nullable=False, server_default=""),
    # What of it paid a plan's interest, owed on top of the debt (migration 0017): the collected
    # amounts count the rest; the aggio's base the whole.
    sa.Column("interest_cents", sa.BigInteger, nullable=False, server_default="0"),
    # Set when a reporting flow revoked the payment: it no longer counts as collected.
    sa.Column("revoked_on", sa.Date),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, server_default=_now()),
)

outcomes = sa.Table(
    "outcomes",
    metadata,
    sa.Column("tenant_id", sa.Uuid, nullable=False),
    sa.Column("contact_id", sa.Uuid, primary_key=True),
    sa.Column("debtor_id", sa.Uuid, nullable=False),
    sa.Column("outcome", sa.Text, nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
)

batches = sa.Table(
    "batches",
    metadata,
    sa.Column("tenant_id", sa.Uuid, nullable=False),
    sa.Column("batch_id", sa.Uuid, primary_key=True),
    sa.Column("filename", sa.Text, nullable=False),
    sa.Column("data_rows", sa.Integer, nullable=False),
    sa.Column("accepted", sa.Integer, nullable=False),
    sa.Column("accepted_total_cents", sa.BigInteger, nullable=False),
    sa.Column("rejected", JSONB, nullable=False),
    sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=False, server_default=_now()),
)

# Who downloaded a relazione (it lists every debtor).
access_log = access_log_table(metadata)
