"""The files a debtor sends to prove a payment claimed in a call («Dice di aver già pagato»): each
attached to that call, kept in the object storage under the tenant, for the Ufficio tributi.

Revision ID: 0018
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op

from services.kernel.migrate import tenant_rls

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None
S = "contact"


def upgrade() -> None:
    op.create_table(
        "claim_evidence",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("contact_id", sa.Uuid, sa.ForeignKey(f"{S}.contacts.id"), nullable=False),
        sa.Column("debtor_id", sa.Uuid, nullable=False),
        sa.Column("file_name", sa.Text, nullable=False),
        sa.Column("media_type", sa.Text, nullable=False),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.Text, nullable=False),
        sa.Column("object_key", sa.Text, nullable=False),
        sa.Column("uploaded_by", sa.Text, nullable=False),
        sa.Column("uploaded_by_name", sa.Text),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id", "debtor_id"], [f"{S}.debtors.tenant_id", f"{S}.debtors.id"]),
        sa.UniqueConstraint("tenant_id", "contact_id", "sha256", name="claim_evidence_once"),
        sa.CheckConstraint("size_bytes > 0", name="claim_evidence_size"),
        schema=S,
    )
    op.create_index("claim_evidence_debtor", "claim_evidence", ["tenant_id", "debtor_id"], schema=S)
    for statement in tenant_rls(S, "claim_evidence"):
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("claim_evidence", schema=S)
