"""Batches, debtors, positions and per-row verdicts.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from services.kernel.migrate import tenant_rls

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None
S = "ingest"
NOW = sa.text("now()")


def _count(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.Integer, nullable=False, server_default="0")


def upgrade() -> None:
    op.create_table(
        "batches",
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
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("completed_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint(
            "status IN ('received', 'processing', 'completed', 'failed')", name="batches_status"
        ),
        schema=S,
    )
    op.create_index("batches_tenant_created", "batches", ["tenant_id", sa.text("created_at DESC")], schema=S)
    op.create_table(
        "debtors",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("fiscal_code", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.UniqueConstraint("tenant_id", "fiscal_code", name="debtors_tenant_fiscal_code"),
        schema=S,
    )
    op.create_table(
        "positions",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("debtor_id", sa.Uuid, sa.ForeignKey(f"{S}.debtors.id"), nullable=False),
        sa.Column("batch_id", sa.Uuid, sa.ForeignKey(f"{S}.batches.id"), nullable=False),
        sa.Column("revenue_type", sa.Text, nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("act_number", sa.Text, nullable=False),
        sa.Column("amount_cents", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.UniqueConstraint(
            "tenant_id", "debtor_id", "revenue_type", "year", "act_number", name="positions_credit_key"
        ),
        sa.CheckConstraint("amount_cents > 0", name="positions_amount_positive"),
        schema=S,
    )
    op.create_index("positions_batch", "positions", ["batch_id"], schema=S)
    op.create_table(
        "batch_rows",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("batch_id", sa.Uuid, sa.ForeignKey(f"{S}.batches.id"), primary_key=True),
        sa.Column("row_number", sa.Integer, primary_key=True),
        sa.Column("line_number", sa.Integer, nullable=False),
        sa.Column("verdict", sa.Text, nullable=False),
        sa.Column("field", sa.Text),
        sa.Column("reason_it", sa.Text),
        schema=S,
    )
    for table in ("batches", "debtors", "positions", "batch_rows"):
        for statement in tenant_rls(S, table):
            op.execute(statement)


def downgrade() -> None:
    for table in ("batch_rows", "positions", "debtors", "batches"):
        op.drop_table(table, schema=S)
