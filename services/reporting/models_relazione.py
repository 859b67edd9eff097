"""Tables of the relazione di scarico (migration 0007): each request is a row of `reports` that the
worker fills (status, progress, totals), and its three files are rows of `report_files`, each with
the SHA-256 and size of the stored object. A generation is a new row with the next version of its
kind and period: nothing stored is ever overwritten."""

import sqlalchemy as sa

from services.reporting.models import metadata

reports = sa.Table(
    "reports",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid, nullable=False),
    # interim | final (relazione_scarico: the totals-only PDFs made before the worker did it).
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("period_from", sa.Date),
    sa.Column("period_to", sa.Date),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    # queued | running | done | failed
    sa.Column("status", sa.Text, nullable=False, server_default="queued"),
    sa.Column("ente", sa.Text, nullable=False, server_default=""),
    sa.Column("requested_by", sa.Text, nullable=False, server_default=""),
    sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("generated_at", sa.DateTime(timezone=True)),
    sa.Column("generated_by", sa.Text, nullable=False),
    sa.Column("total_rows", sa.Integer, nullable=False, server_default="0"),
    sa.Column("done_rows", sa.Integer, nullable=False, server_default="0"),
    sa.Column("error", sa.Text, nullable=False, server_default=""),
    # The totals: assigned is what stands of the load (net of sgravi and rettifiche, as the portal
    # counts it); cancelled and corrected (migration 0016, null on relazioni made before) are what
    # the office took off: assigned + cancelled + corrected is the load handed over.
    sa.Column("assigned_cents", sa.BigInteger),
    sa.Column("cancelled_cents", sa.BigInteger),
    sa.Column("corrected_cents", sa.BigInteger),
    sa.Column("collected_cents", sa.BigInteger),
    sa.Column("residual_cents", sa.BigInteger),
    sa.Column("aggio_cents", sa.BigInteger),
    sa.Column("aggio_rate_bp", sa.Integer),
)

report_files = sa.Table(
    "report_files",
    metadata,
    sa.Column("report_id", sa.Uuid, primary_key=True),
    sa.Column("format", sa.Text, primary_key=True),  # pdf | xlsx | csv
    sa.Column("tenant_id", sa.Uuid, nullable=False),
    sa.Column("object_key", sa.Text, nullable=False, unique=True),
    sa.Column("sha256", sa.Text, nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
)
