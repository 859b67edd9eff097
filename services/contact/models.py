"""Tables of the contact service (schema `contact`)."""

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import JSONB

from services.kernel.access_log import access_log_table
from services.kernel.db import closures_table, credit_columns, inbox_table, outbox_table
from services.kernel.repository_limitation import limitation_acts_table

metadata = sa.MetaData(schema="contact")

outbox = outbox_table(metadata)
inbox = inbox_table(metadata)
closures = closures_table(metadata)

debtors = sa.Table(
    "debtors",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid, primary_key=True),
    sa.Column("fiscal_code", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("total_due_cents", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("positions_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("status", sa.Text, nullable=False, server_default="da_lavorare"),
    sa.Column("assigned_to", sa.Text),
    # The holder's name as their identity gave it when they took the lease (the board shows it).
    sa.Column("assigned_name", sa.Text),
    sa.Column("locked_until", sa.DateTime(timezone=True)),
    sa.Column("last_outcome", sa.Text),
    sa.Column("callback_at", sa.DateTime(timezone=True)),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    # The operator a callback is for (None: anyone); others get it once it is CALLBACK_GRACE late.
    sa.Column("callback_for", sa.Text),
    # What orders the queue (`repository_queue`): the oldest act's year, the calls made so far, the
    # reliability of the best active phone.
    sa.Column("oldest_year", sa.SmallInteger),
    # The first day time-barred of each position still due (open, not paid off), in order, its
    # payments counted (`kernel.limitation`, migration 0029; `repository_limitation` keeps them):
    # the queue's limitation part counts to the nearest one still to come; from `barred_on`, the
    # latest, every due position is time-barred and the debtor is not leased (None: none due).
    sa.Column("barred_on", sa.Date),
    sa.Column("due_barred_on", postgresql.ARRAY(sa.Date), nullable=False, server_default="{}"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("best_confidence", sa.SmallInteger),
    # `repository_queue.queue_score` as of the last change of the debtor or daily run (indexed).
    sa.Column("queue_score", sa.Float, nullable=False, server_default="0"),
    # The debtor asked not to be phoned: written channels only.
    sa.Column("do_not_call", sa.Boolean, nullable=False, server_default=sa.false()),
)

debtor_positions = sa.Table(
    "debtor_positions",
    metadata,
    sa.Column("position_id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid, primary_key=True),
    sa.Column("debtor_id", sa.Uuid, nullable=False),
    *credit_columns(),
    # The act's day the Comune's file gave (migration 0032): the limitation runs from it.
    sa.Column("act_on", sa.Date),
    sa.ForeignKeyConstraint(["tenant_id", "debtor_id"], ["contact.debtors.tenant_id", "contact.debtors.id"]),
    # The payments plan the position is in, and whether it is active or lapsed (from the events).
    sa.Column("plan_id", sa.Uuid),
    sa.Column("plan_status", sa.Text),
    # open | cancelled (the Ufficio tributi's sgravio: no longer owed); original_cents: the amount
    # before the office corrected it (migration 0022).
    sa.Column("state", sa.Text, nullable=False, server_default="open"),
    sa.Column("original_cents", sa.BigInteger),
)

contacts = sa.Table(
    "contacts",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid, nullable=False),
    sa.Column("debtor_id", sa.Uuid, nullable=False),
    sa.Column("operator", sa.Text, nullable=False),
    sa.Column("outcome", sa.Text, nullable=False),
    sa.Column("note", sa.Text, nullable=False, server_default=""),
    sa.Column("callback_at", sa.DateTime(timezone=True)),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    # A supervisor's written reason for a call the conduct rules would have refused (also audited).
    sa.Column("override_reason", sa.Text),
    # The operator's name as the identity gave it when the call was recorded (shown; `operator` is the id).
    sa.Column("operator_name", sa.Text),
    sa.ForeignKeyConstraint(["tenant_id", "debtor_id"], ["contact.debtors.tenant_id", "contact.debtors.id"]),
)

# A Comune's calling rules, stricter than or equal to the UNIREC code (`domain_conduct`); none: the
# code's defaults. `windows`: {"0": ["08:30", "21:00"], ...} by weekday, Monday 0.
conduct_rules = sa.Table(
    "conduct_rules",
    metadata,
    sa.Column("tenant_id", sa.Uuid, primary_key=True),
    sa.Column("windows", JSONB, nullable=False),
    sa.Column("patron_month", sa.SmallInteger),
    sa.Column("patron_day", sa.SmallInteger),
    sa.Column("patron_saint", sa.Text, nullable=False, server_default=""),
    sa.Column("daily_cap", sa.SmallInteger, nullable=False),
    sa.Column("weekly_cap", sa.SmallInteger, nullable=False),
    # How many days ahead a promise to pay may fall.
    sa.Column("promise_days", sa.SmallInteger, nullable=False, server_default="30"),
    # The softphones' SIP URI with «{numero}» where the E.164 number goes ("": tel: links only).
    sa.Column("sip_template", sa.Text, nullable=False, server_default=""),
    # The weights of the queue's order: {"amount": 4, "limitation": 3, "attempts": 2, "grade": 1}.
    sa.Column("queue_weights", JSONB, nullable=False),
    sa.Column("updated_by", sa.Text, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
)

access_log = access_log_table(metadata)

# No foreign key to `debtors`: a debtor's contacts may arrive before its positions do.
debtor_contacts = sa.Table(
    "debtor_contacts",
    metadata,
    sa.Column("contact_id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid, primary_key=True),
    sa.Column("debtor_id", sa.Uuid, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("found_on", sa.Date),
    sa.Column("confidence", sa.SmallInteger),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
)

debtor_payments = sa.Table(
    "debtor_payments",
    metadata,
    sa.Column("payment_id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid, primary_key=True),
    sa.Column("debtor_id", sa.Uuid, nullable=False),
    sa.Column("position_id", sa.Uuid, nullable=False),
    sa.Column("amount_cents", sa.BigInteger, nullable=False),
    sa.Column("paid_on", sa.Date, nullable=False),
    # payment | refund | revocation: the last two take back (a negative amount) the payment
    # `of_payment`, what the Comune refunded or a reporting flow revoked.
    sa.Column("kind", sa.Text, nullable=False, server_default="payment"),
    sa.Column("of_payment", sa.Uuid),
)

# A promise to pay made in a call: kept when the payments received for the debtor since it was made
# reach its amount, broken when its day passes first.
promises = sa.Table(
    "promises",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid, nullable=False),
    sa.Column("debtor_id", sa.Uuid, nullable=False),
    sa.Column("contact_id", sa.Uuid, nullable=False),
    sa.Column("operator", sa.Text, nullable=False),
    sa.Column("operator_name", sa.Text),
    sa.Column("amount_cents", sa.BigInteger, nullable=False),
    sa.Column("due_on", sa.Date, nullable=False),
    sa.Column("paid_cents", sa.BigInteger, nullable=False, server_default="0"),
    # open, kept, broken
    sa.Column("status", sa.Text, nullable=False, server_default="open"),
    sa.Column("made_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("closed_on", sa.Date),
    sa.ForeignKeyConstraint(["tenant_id", "debtor_id"], ["contact.debtors.tenant_id", "contact.debtors.id"]),
)

# A Comune's own steps of the call script, per revenue type ("*": all); the fixed steps are the
# domain's (`domain_scripts`), never stored.
call_scripts = sa.Table(
    "call_scripts",
    metadata,
    sa.Column("tenant_id", sa.Uuid, primary_key=True),
    sa.Column("revenue_type", sa.Text, primary_key=True),
    sa.Column("steps", JSONB, nullable=False),
    sa.Column("updated_by", sa.Text, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
)

# A Comune's own names for the outcomes; what each outcome does is fixed (`domain.Outcome`).
outcome_labels = sa.Table(
    "outcome_labels",
    metadata,
    sa.Column("tenant_id", sa.Uuid, primary_key=True),
    sa.Column("outcome", sa.Text, primary_key=True),
    sa.Column("label", sa.Text, nullable=False),
    sa.Column("updated_by", sa.Text, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
)

# A supervisor's review of one call: a score from 1 to 5 and a comment.
quality_reviews = sa.Table(
    "quality_reviews",
    metadata,
    sa.Column("tenant_id", sa.Uuid, primary_key=True),
    sa.Column("contact_id", sa.Uuid, primary_key=True),
    sa.Column("operator", sa.Text, nullable=False),
    sa.Column("score", sa.SmallInteger, nullable=False),
    sa.Column("comment", sa.Text, nullable=False, server_default=""),
    sa.Column("reviewer", sa.Text, nullable=False),
    sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
)

# A file the debtor sent to prove a payment claimed in a call («Dice di aver già pagato», the
# `contact_id`): kept in the object storage at `object_key`, for the Ufficio tributi to check.
claim_evidence = sa.Table(
    "claim_evidence",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid, nullable=False),
    sa.Column("contact_id", sa.Uuid, sa.ForeignKey("contact.contacts.id"), nullable=False),
    sa.Column("debtor_id", sa.Uuid, nullable=False),
    sa.Column("file_name", sa.Text, nullable=False),
    sa.Column("media_type", sa.Text, nullable=False),
    sa.Column("size_bytes", sa.BigInteger, nullable=False),
    sa.Column("sha256", sa.Text, nullable=False),
    sa.Column("object_key", sa.Text, nullable=False),
    sa.Column("uploaded_by", sa.Text, nullable=False),
    sa.Column("uploaded_by_name", sa.Text),
    sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["tenant_id", "debtor_id"], ["contact.debtors.tenant_id", "contact.debtors.id"]),
    sa.UniqueConstraint("tenant_id", "contact_id", "sha256", name="claim_evidence_once"),
)

# The pagoPA notices issued on a debtor's positions or plans (`NoticeIssued`, migration 0033): the
# operator's search finds the taxpayer who calls with a notice in hand by its code (NAV) or its IUV.
debtor_notices = sa.Table(
    "debtor_notices",
    metadata,
    sa.Column("tenant_id", sa.Uuid, primary_key=True),
    sa.Column("iuv", sa.Text, primary_key=True),
    sa.Column("nav", sa.Text, nullable=False),
    sa.Column("debtor_id", sa.Uuid, nullable=False),
    sa.Index("debtor_notices_nav", "tenant_id", "nav"),
)

# The Comune's acts interrupting the limitation, from `reporting.limitation_interrupted` (migration
# 0034): counted with the payments by `kernel.limitation` for the card and the queue.
limitation_acts = limitation_acts_table(metadata)
