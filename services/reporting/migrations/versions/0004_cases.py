"""The Ufficio tributi's worklist: the cases the contact service opens (disputes, claims of payment
already made with their receipts, hardship, deceased debtors) and every answer the office gives.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

from services.kernel.migrate import tenant_rls

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None
S = "reporting"
NOW = sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("id", sa.Uuid, primary_key=True),  # the call that opened it
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("debtor_id", sa.Uuid, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("operator", sa.Text, nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        # The last answer (NULL: waiting for the office).
        sa.Column("answer", sa.Text),
        sa.Column("answered_at", sa.DateTime(timezone=True)),
        schema=S,
    )
    op.create_index("cases_waiting", "cases", ["tenant_id", "answer", "opened_at"], schema=S)
    op.create_table(
        "case_answers",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("case_id", sa.Uuid, sa.ForeignKey(f"{S}.cases.id"), nullable=False),
        sa.Column("answer", sa.Text, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("corrected_cents", sa.BigInteger),
        sa.Column("answered_by", sa.Text, nullable=False),
        sa.Column("answered_by_name", sa.Text, nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        schema=S,
    )
    op.create_index("case_answers_case", "case_answers", ["tenant_id", "case_id"], schema=S)
    op.create_table(
        "case_evidence",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("case_id", sa.Uuid, nullable=False),  # may come before its case (no FK)
        sa.Column("file_name", sa.Text, nullable=False),
        sa.Column("media_type", sa.Text, nullable=False),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.Text, nullable=False),
        sa.Column("object_key", sa.Text, nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        schema=S,
    )
    op.create_index("case_evidence_case", "case_evidence", ["tenant_id", "case_id"], schema=S)
    for table in ("cases", "case_answers", "case_evidence"):
        for statement in tenant_rls(S, table):
            op.execute(statement)


def downgrade() -> None:
    for table in ("case_evidence", "case_answers", "cases"):
        op.drop_table(table, schema=S)
