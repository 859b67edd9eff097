"""Tables of the end of a mandate (migration 0010): the mandate's closure and erasure, the files
handed over to the Comune, each service's erasure report and the signed certificate. They hold no
personal data (file names, counts, hashes, the firm's staff who acted), so the erasure keeps them."""

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from services.reporting.models import metadata

mandates = sa.Table(
    "mandates",
    metadata,
    sa.Column("tenant_id", sa.Uuid, primary_key=True),
    # closing (read-only, package being made) | erasing | erased
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("comune_name", sa.Text, nullable=False),
    sa.Column("closed_on", sa.Date, nullable=False),
    sa.Column("closed_by", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("closed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("final_report_id", sa.Uuid),
    # The final relazione's files as they were when the erasure was asked (kept as proof).
    sa.Column("final_report_files", JSONB, nullable=False, server_default="[]"),
    sa.Column("erasure_requested_by", sa.Text),
    sa.Column("erasure_requested_at", sa.DateTime(timezone=True)),
    sa.Column("erased_at", sa.DateTime(timezone=True)),
    # The certificate: its canonical JSON, the Ed25519 signature (base64) and the PDF.
    sa.Column("certificate", sa.Text),
    sa.Column("signature", sa.Text),
    sa.Column("certificate_pdf_key", sa.Text),
    sa.Column("certificate_pdf_sha256", sa.Text),
    sa.CheckConstraint("state IN ('closing', 'erasing', 'erased')", name="mandate_state"),
)

mandate_files = sa.Table(
    "mandate_files",
    metadata,
    sa.Column("tenant_id", sa.Uuid, primary_key=True),
    sa.Column("object_key", sa.Text, primary_key=True),
    sa.Column("service", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("media_type", sa.Text, nullable=False),
    sa.Column("sha256", sa.Text, nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
)

mandate_erasures = sa.Table(
    "mandate_erasures",
    metadata,
    sa.Column("tenant_id", sa.Uuid, primary_key=True),
    sa.Column("service", sa.Text, primary_key=True),
    sa.Column("report", JSONB, nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
)

# What the erasure keeps in the reporting schema: the contract (the firm's own) and these tables.
KEPT = frozenset({"aggio_contracts", "aggio_bands", "mandates", "mandate_files", "mandate_erasures"})
