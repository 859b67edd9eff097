"""Tables of the aggio engine (migration 0006): contracts (their versions, 0018), their rates, monthly rendiconti and the
office's e-mail addresses."""

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from services.reporting.models import metadata


def _who_and_when() -> list[sa.Column[object]]:
    return [
        sa.Column("updated_by", sa.Text, nullable=False, server_default=""),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    ]


def _stored(kind: str) -> list[sa.Column[object]]:
    return [
        sa.Column(f"{kind}_key", sa.Text, nullable=False),
        sa.Column(f"{kind}_sha256", sa.Text, nullable=False),
        sa.Column(f"{kind}_size", sa.BigInteger, nullable=False),
    ]


FIGURES = ("collected", "refunded", "revoked", "taxable", "aggio", "vat", "invoice")

aggio_contracts = sa.Table(
    "aggio_contracts",
    metadata,
    sa.Column("tenant_id", sa.Uuid, primary_key=True),
    sa.Column("reference", sa.Text, nullable=False),
    # Migration 0018: a version of the contract from this day (its first version may start on any
    # day, the later ones on a month's first day).
    sa.Column("start_date", sa.Date, primary_key=True),
    sa.Column("vat_applies", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("vat_rate_bp", sa.Integer, nullable=False, server_default="2200"),
    sa.Column("ente", sa.Text, nullable=False, server_default=""),
    *_who_and_when(),
)

aggio_bands = sa.Table(
    "aggio_bands",
    metadata,
    sa.Column("tenant_id", sa.Uuid, primary_key=True),
    sa.Column("start_date", sa.Date, primary_key=True),  # its version (migration 0018)
    sa.Column("revenue_type", sa.Text, primary_key=True),
    sa.Column("from_cents", sa.BigInteger, primary_key=True),
    sa.Column("to_cents", sa.BigInteger),
    sa.Column("rate_bp", sa.Integer, nullable=False),
)

rendiconti = sa.Table(
    "rendiconti",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid, nullable=False),
    sa.Column("month", sa.Date, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    *_stored("pdf"),
    *_stored("xlsx"),
    *(sa.Column(f"{name}_cents", sa.BigInteger, nullable=False) for name in FIGURES),
    sa.Column("contract", JSONB, nullable=False),
    sa.Column("generated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("generated_by", sa.Text, nullable=False),
    sa.Column("emailed_to", ARRAY(sa.Text), nullable=False, server_default="{}"),
    sa.Column("emailed_at", sa.DateTime(timezone=True)),
    sa.Column("email_error", sa.Text, nullable=False, server_default=""),
    # Migration 0011: sending (recorded, e-mail not yet tried), sent, kept, failed, no_addresses.
    sa.Column("email_status", sa.Text, nullable=False, server_default="sent"),
    sa.Column("email_attempts", sa.Integer, nullable=False, server_default="1"),
    # Migration 0012: when the e-mail was last set `sending` (the run's clock), for its lease.
    sa.Column("email_claimed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.UniqueConstraint("tenant_id", "month", "version", name="rendiconti_version"),
)

# The Ufficio tributi's e-mail addresses: where rendiconti and digests are sent.
office_contacts = sa.Table(
    "office_contacts",
    metadata,
    sa.Column("tenant_id", sa.Uuid, primary_key=True),
    sa.Column("emails", ARRAY(sa.Text), nullable=False, server_default="{}"),
    *_who_and_when(),
)
