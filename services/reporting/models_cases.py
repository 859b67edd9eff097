"""Tables of the Ufficio tributi's worklist (migration 0004)."""

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY

from services.reporting.models import metadata

cases = sa.Table(
    "cases",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid, nullable=False),
    sa.Column("debtor_id", sa.Uuid, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("operator", sa.Text, nullable=False),
    sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("answer", sa.Text),
    sa.Column("answered_at", sa.DateTime(timezone=True)),
)

case_answers = sa.Table(
    "case_answers",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid, nullable=False),
    sa.Column("case_id", sa.Uuid, sa.ForeignKey("reporting.cases.id"), nullable=False),
    sa.Column("answer", sa.Text, nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("corrected_cents", sa.BigInteger),
    # The positions the answer is about (a cancellation or a correction names them).
    sa.Column("position_ids", ARRAY(sa.Uuid), nullable=False, server_default="{}"),
    sa.Column("answered_by", sa.Text, nullable=False),
    sa.Column("answered_by_name", sa.Text, nullable=False),
    sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
)

case_evidence = sa.Table(
    "case_evidence",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid, nullable=False),
    sa.Column("case_id", sa.Uuid, nullable=False),
    sa.Column("file_name", sa.Text, nullable=False),
    sa.Column("media_type", sa.Text, nullable=False),
    sa.Column("size_bytes", sa.BigInteger, nullable=False),
    sa.Column("sha256", sa.Text, nullable=False),
    sa.Column("object_key", sa.Text, nullable=False),
    sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
)
