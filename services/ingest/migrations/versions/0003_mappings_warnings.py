"""Column mappings per tenant, batches waiting for a mapping, row warnings and row data.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from services.kernel.migrate import tenant_rls

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None
S = "ingest"
STATUSES = "('received', 'processing', 'needs_mapping', 'completed', 'failed')"


def upgrade() -> None:
    op.drop_constraint("batches_status", "batches", schema=S)
    op.create_check_constraint("batches_status", "batches", f"status IN {STATUSES}", schema=S)
    for name in ("requested_encoding", "requested_sheet", "format", "encoding", "delimiter", "sheet"):
        op.add_column("batches", sa.Column(name, sa.Text), schema=S)
    op.add_column("batches", sa.Column("mapping", JSONB), schema=S)
    op.add_column("batches", sa.Column("layout", JSONB), schema=S)
    op.add_column("batches", sa.Column("warnings", sa.Integer, nullable=False, server_default="0"), schema=S)
    op.add_column(
        "batch_rows",
        sa.Column("warnings", ARRAY(sa.Text), nullable=False, server_default=sa.text("'{}'::text[]")),
        schema=S,
    )
    for name, kind in (
        ("warnings_it", sa.Text),
        ("fiscal_code", sa.Text),
        ("name", sa.Text),
        ("revenue_type", sa.Text),
        ("year", sa.Integer),
        ("act_number", sa.Text),
        ("amount_cents", sa.BigInteger),
        ("phone", sa.Text),
        ("email", sa.Text),
        ("address", sa.Text),
    ):
        op.add_column("batch_rows", sa.Column(name, kind), schema=S)
    op.add_column("batch_rows", sa.Column("cells", ARRAY(sa.Text)), schema=S)
    op.create_table(
        "mappings",
        sa.Column("tenant_id", sa.Uuid, primary_key=True),
        sa.Column("signature", sa.Text, primary_key=True),
        sa.Column("header", JSONB, nullable=False),
        sa.Column("columns", JSONB, nullable=False),
        sa.Column("saved_by", sa.Text, nullable=False, server_default=""),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")),
        schema=S,
    )
    for statement in tenant_rls(S, "mappings"):
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("mappings", schema=S)
