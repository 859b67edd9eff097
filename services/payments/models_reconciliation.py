"""Tables of reconciliation, jobs, plan extensions and delivery (schema `payments`)."""

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from services.payments.models import metadata


def _created_at() -> sa.Column[object]:
    return sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


receipts = sa.Table(
    "receipts",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid, nullable=False),
    sa.Column("iuv", sa.Text, nullable=False),
    # The PSP's identifier of the collection (identificativoUnivocoRiscossione).
    sa.Column("receipt_ref", sa.Text, nullable=False),
    sa.Column("amount_cents", sa.BigInteger, nullable=False),
    sa.Column("paid_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("psp", sa.Text, nullable=False, server_default=""),
    sa.Column("option_id", sa.Uuid),
    # PAID (receipt), REPORTED (in a flow), CASHED (treasury), REVOKED.
    sa.Column("state", sa.Text, nullable=False),
    # Whether it became payments on the positions (false: waiting in the review queue).
    sa.Column("applied", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("flow_id", sa.Text),
    # receipt (a receipts file) or flow (known only from an FdR line)
    sa.Column("source", sa.Text, nullable=False),
    _created_at(),
    sa.UniqueConstraint("tenant_id", "iuv", "receipt_ref", name="receipts_unique"),
)

flows = sa.Table(
    "flows",
    metadata,
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
)

flow_lines = sa.Table(
    "flow_lines",
    metadata,
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
)

review_items = sa.Table(
    "review_items",
    metadata,
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
    _created_at(),
    sa.UniqueConstraint("tenant_id", "kind", "iuv", "receipt_ref", "source", name="review_items_unique"),
    # Who resolved it, as their identity named them (migration 0021).
    sa.Column("resolved_by_name", sa.Text),
)

# Imports and bulk work run by the worker, with their progress.
jobs = sa.Table(
    "jobs",
    metadata,
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
    _created_at(),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
)

plan_extensions = sa.Table(
    "plan_extensions",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid, nullable=False),
    sa.Column("plan_id", sa.Uuid, sa.ForeignKey("payments.plans.id"), nullable=False),
    sa.Column("extended_on", sa.Date, nullable=False),
    sa.Column("installments_before", sa.Integer, nullable=False),
    sa.Column("installments_after", sa.Integer, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("created_by", sa.Text, nullable=False),
    _created_at(),
)

# Debtors' e-mail, PEC and postal addresses, as ingest registered or updated them.
debtor_contacts = sa.Table(
    "debtor_contacts",
    metadata,
    sa.Column("tenant_id", sa.Uuid, primary_key=True),
    sa.Column("contact_id", sa.Uuid, primary_key=True),
    sa.Column("debtor_id", sa.Uuid, nullable=False),
    # email, pec, address (postal, one line), phone (E.164: where an SMS may go)
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("address", sa.Text, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
)

messages = sa.Table(
    "messages",
    metadata,
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
)

# Positions and plans handed to pagoPA GPD through the Comune's intermediary, so that what is
# replaced (a position put in a plan) or lapsed (a plan) can be invalidated there too.
gpd_positions = sa.Table(
    "gpd_positions",
    metadata,
    sa.Column("tenant_id", sa.Uuid, primary_key=True),
    sa.Column("iupd", sa.Text, primary_key=True),
    # position, plan, charges (the notice of a plan's c.803 charges)
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("subject_id", sa.Uuid, nullable=False),
    # published, invalidated, refused (pagoPA would not invalidate it: `note` says why)
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("published_by", sa.Text, nullable=False),
    sa.Column("published_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("changed_at", sa.DateTime(timezone=True)),
    sa.Column("note", sa.Text),
)
