"""Tables of the aggio engine: the contract of each Comune and its rates (flat, by revenue type,
marginal bands), the monthly rendiconti (PDF and XLSX in object storage, with SHA-256), and the
office's e-mail addresses (also used by the digests). The old flat rate (`settings.aggio_rate_bp`)
becomes the simplest contract: one rate on everything collected, no VAT.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from services.kernel.migrate import tenant_rls

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None
S = "reporting"
NOW = sa.text("now()")
TABLES = ("aggio_contracts", "aggio_bands", "rendiconti", "office_contacts")


def _who_and_when() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("updated_by", sa.Text, nullable=False, server_default=""),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
    ]


def upgrade() -> None:
    op.create_table(
        "aggio_contracts",
        sa.Column("tenant_id", sa.Uuid, primary_key=True),
        sa.Column("reference", sa.Text, nullable=False),
        sa.Column("start_date", sa.Date, nullable=False),
        sa.Column("vat_applies", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("vat_rate_bp", sa.Integer, nullable=False, server_default="2200"),
        # The Comune's name as the firm's admin saw it when saving: the rendiconto's header.
        sa.Column("ente", sa.Text, nullable=False, server_default=""),
        *_who_and_when(),
        schema=S,
    )
    op.create_table(
        "aggio_bands",
        sa.Column("tenant_id", sa.Uuid, primary_key=True),
        # A revenue type, or '*' for every type without a table of its own.
        sa.Column("revenue_type", sa.Text, primary_key=True),
        sa.Column("from_cents", sa.BigInteger, primary_key=True),
        sa.Column("to_cents", sa.BigInteger),
        sa.Column("rate_bp", sa.Integer, nullable=False),
        sa.CheckConstraint("rate_bp BETWEEN 0 AND 10000", name="aggio_rate_range"),
        schema=S,
    )
    op.create_table(
        "rendiconti",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("month", sa.Date, nullable=False),  # its first day
        sa.Column("version", sa.Integer, nullable=False),
        *(
            sa.Column(f"pdf_{c}", t, nullable=False)
            for c, t in (("key", sa.Text), ("sha256", sa.Text), ("size", sa.BigInteger))
        ),
        *(
            sa.Column(f"xlsx_{c}", t, nullable=False)
            for c, t in (("key", sa.Text), ("sha256", sa.Text), ("size", sa.BigInteger))
        ),
        *(
            sa.Column(f"{name}_cents", sa.BigInteger, nullable=False)
            for name in ("collected", "refunded", "revoked", "taxable", "aggio", "vat", "invoice")
        ),
        sa.Column("contract", JSONB, nullable=False),  # the contract applied, as it was
        sa.Column("generated_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("generated_by", sa.Text, nullable=False),
        sa.Column("emailed_to", ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("emailed_at", sa.DateTime(timezone=True)),
        sa.Column("email_error", sa.Text, nullable=False, server_default=""),
        sa.UniqueConstraint("tenant_id", "month", "version", name="rendiconti_version"),
        schema=S,
    )
    op.create_table(
        "office_contacts",
        sa.Column("tenant_id", sa.Uuid, primary_key=True),
        sa.Column("emails", ARRAY(sa.Text), nullable=False, server_default="{}"),
        *_who_and_when(),
        schema=S,
    )
    # The flat rate set before contracts existed becomes a flat contract (no VAT, as it was shown).
    for statement in COPY_FLAT_RATE:
        op.execute(statement)
    for table in TABLES:
        for statement in tenant_rls(S, table):
            op.execute(statement)


# Migrations run as the tables' owner, which FORCE ROW LEVEL SECURITY holds to the tenant policy
# like everyone else: for the copy across Comuni, settings is briefly not forced (the owner then
# reads every row), and the new tables get their policies only after it.
COPY_FLAT_RATE = (
    f"ALTER TABLE {S}.settings NO FORCE ROW LEVEL SECURITY",
    f"INSERT INTO {S}.aggio_contracts (tenant_id, reference, start_date, updated_by, updated_at) "
    "SELECT tenant_id, 'Aliquota unica (impostazione precedente)', "
    f"(updated_at AT TIME ZONE 'Europe/Rome')::date, updated_by, updated_at FROM {S}.settings "
    "ON CONFLICT (tenant_id) DO NOTHING",
    f"INSERT INTO {S}.aggio_bands (tenant_id, revenue_type, from_cents, to_cents, rate_bp) "
    f"SELECT tenant_id, '*', 0, NULL, aggio_rate_bp FROM {S}.settings ON CONFLICT DO NOTHING",
    f"ALTER TABLE {S}.settings FORCE ROW LEVEL SECURITY",
)


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table, schema=S)
