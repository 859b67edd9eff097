"""The end of a mandate: the Comune's closure, an access log the erasure may empty, and the
mandate's tables (`models_mandate`).

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from services.kernel.migrate import tenant_rls
from services.kernel.migrate_erasure import (
    create_closures,
    drop_closures,
    erasable_access_log,
    strict_access_log,
)

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None
S = "reporting"
NOW = sa.text("now()")


def upgrade() -> None:
    create_closures(S)
    erasable_access_log(S)
    op.create_table(
        "mandates",
        sa.Column("tenant_id", sa.Uuid, primary_key=True),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("comune_name", sa.Text, nullable=False),
        sa.Column("closed_on", sa.Date, nullable=False),
        sa.Column("closed_by", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("final_report_id", sa.Uuid),
        sa.Column("final_report_files", JSONB, nullable=False, server_default="[]"),
        sa.Column("erasure_requested_by", sa.Text),
        sa.Column("erasure_requested_at", sa.DateTime(timezone=True)),
        sa.Column("erased_at", sa.DateTime(timezone=True)),
        sa.Column("certificate", sa.Text),
        sa.Column("signature", sa.Text),
        sa.Column("certificate_pdf_key", sa.Text),
        sa.Column("certificate_pdf_sha256", sa.Text),
        sa.CheckConstraint("state IN ('closing', 'erasing', 'erased')", name="mandate_state"),
        schema=S,
    )
    op.create_table(
        "mandate_files",
        sa.Column("tenant_id", sa.Uuid, primary_key=True),
        sa.Column("object_key", sa.Text, primary_key=True),
        sa.Column("service", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("media_type", sa.Text, nullable=False),
        sa.Column("sha256", sa.Text, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        schema=S,
    )
    op.create_table(
        "mandate_erasures",
        sa.Column("tenant_id", sa.Uuid, primary_key=True),
        sa.Column("service", sa.Text, primary_key=True),
        sa.Column("report", JSONB, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        schema=S,
    )
    for table in ("mandates", "mandate_files", "mandate_erasures"):
        for statement in tenant_rls(S, table):
            op.execute(statement)


def downgrade() -> None:
    for table in ("mandate_erasures", "mandate_files", "mandates"):
        op.drop_table(table, schema=S)
    strict_access_log(S)
    drop_closures(S)
