"""Tables of the ingest service (schema `ingest`).

The bulk tables (batch_rows, positions, contacts) have no foreign keys: see migration 0006.
"""

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from services.kernel.access_log import access_log_table
from services.kernel.db import closures_table, credit_columns, inbox_table, outbox_table

metadata = sa.MetaData(schema="ingest")

outbox = outbox_table(metadata)
inbox = inbox_table(metadata)
closures = closures_table(metadata)

BATCH_STATUSES = ("received", "processing", "needs_mapping", "completed", "failed", "discarded")


def _now() -> sa.sql.elements.TextClause:
    return sa.text("now()")


def _count(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.Integer, nullable=False, server_default="0")


batches = sa.Table(
    "batches",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid, nullable=False),
    sa.Column("filename", sa.Text, nullable=False),
    sa.Column("raw_key", sa.Text, nullable=False),
    sa.Column("raw_sha256", sa.Text, nullable=False),
    sa.Column("raw_size", sa.BigInteger, nullable=False),
    sa.Column("status", sa.Text, nullable=False, server_default="received"),
    sa.Column("error", sa.Text),
    sa.Column("header_line", sa.Integer),
    _count("data_rows"),
    _count("accepted"),
    sa.Column("accepted_total_cents", sa.BigInteger, nullable=False, server_default="0"),
    _count("duplicates"),
    _count("conflicts"),
    sa.Column("rejected", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    _count("registered"),
    sa.Column("uploaded_by", sa.Text, nullable=False, server_default=""),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_now()),
    sa.Column("completed_at", sa.DateTime(timezone=True)),
    *(
        sa.Column(name, sa.Text)
        for name in ("requested_encoding", "requested_sheet", "format", "encoding", "delimiter", "sheet")
    ),
    sa.Column("mapping", JSONB),
    sa.Column("layout", JSONB),
    _count("warnings"),
    # Accepted rows already time-barred when loaded (the «limitation» warning; migration 0013).
    _count("barred"),
    sa.Column("barred_cents", sa.BigInteger, nullable=False, server_default="0"),
    # A batch waiting for its columns that the Comune or the firm discarded (a wrong file).
    sa.Column("discarded_by", sa.Text),
    sa.Column("discarded_at", sa.DateTime(timezone=True)),
)

debtors = sa.Table(
    "debtors",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid, nullable=False),
    sa.Column("fiscal_code", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False, server_default=""),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_now()),
    sa.Column("grade", sa.Text, nullable=False, server_default="none"),
    sa.Column("graded_at", sa.DateTime(timezone=True)),
    sa.UniqueConstraint("tenant_id", "fiscal_code", name="debtors_tenant_fiscal_code"),
)

contacts = sa.Table(
    "contacts",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True, server_default=sa.text("gen_random_uuid()")),
    sa.Column("tenant_id", sa.Uuid, nullable=False),
    sa.Column("debtor_id", sa.Uuid, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("found_on", sa.Date, nullable=False),
    sa.Column("entered_by", sa.Text, nullable=False),
    sa.Column("confidence", sa.SmallInteger, nullable=False),
    sa.Column("batch_id", sa.Uuid),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("wrong", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("deactivated_by", sa.Text),
    sa.Column("deactivated_at", sa.DateTime(timezone=True)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_now()),
    sa.UniqueConstraint("tenant_id", "debtor_id", "kind", "value", name="contacts_datum"),
)

positions = sa.Table(
    "positions",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid, nullable=False),
    sa.Column("debtor_id", sa.Uuid, nullable=False),
    sa.Column("batch_id", sa.Uuid, nullable=False),
    *credit_columns(),
    # The act's day (its notification, else its due day; migration 0012): the limitation runs from it.
    sa.Column("act_on", sa.Date),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_now()),
    sa.UniqueConstraint(
        "tenant_id", "debtor_id", "revenue_type", "year", "act_number", name="positions_credit_key"
    ),
    sa.CheckConstraint("amount_cents > 0", name="positions_amount_positive"),
)

batch_rows = sa.Table(
    "batch_rows",
    metadata,
    sa.Column("tenant_id", sa.Uuid, nullable=False),
    sa.Column("batch_id", sa.Uuid, primary_key=True),
    sa.Column("row_number", sa.Integer, primary_key=True),
    sa.Column("line_number", sa.Integer, nullable=False),
    sa.Column("verdict", sa.Text, nullable=False),
    sa.Column("field", sa.Text),
    sa.Column("reason_it", sa.Text),
    sa.Column("warnings", ARRAY(sa.Text), nullable=False, server_default=sa.text("'{}'::text[]")),
    sa.Column("warnings_it", sa.Text),
    sa.Column("fiscal_code", sa.Text),
    sa.Column("name", sa.Text),
    sa.Column("revenue_type", sa.Text),
    sa.Column("year", sa.Integer),
    sa.Column("act_number", sa.Text),
    sa.Column("amount_cents", sa.BigInteger),
    sa.Column("act_on", sa.Date),
    sa.Column("phone", sa.Text),
    sa.Column("email", sa.Text),
    sa.Column("address", sa.Text),
    sa.Column("cells", ARRAY(sa.Text)),
)

mappings = sa.Table(
    "mappings",
    metadata,
    sa.Column("tenant_id", sa.Uuid, primary_key=True),
    sa.Column("signature", sa.Text, primary_key=True),
    sa.Column("header", JSONB, nullable=False),
    sa.Column("columns", JSONB, nullable=False),
    sa.Column("saved_by", sa.Text, nullable=False, server_default=""),
    sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False, server_default=_now()),
)

batch_progress = sa.Table(
    "batch_progress",
    metadata,
    sa.Column("batch_id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid, nullable=False),
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("phase", sa.Text, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=_now()),
)

# Who looked at personal data (batch rows, error reports, debtors, the tracing queue, cleaning reports).
access_log = access_log_table(metadata)
