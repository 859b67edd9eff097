"""Debtors' phones, e-mails, PEC and addresses with their provenance, as ingest publishes them.

Stored apart from `debtors` (no foreign key): a debtor's contacts may arrive before its positions.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

from services.kernel.migrate import tenant_rls

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None
S = "contact"


def upgrade() -> None:
    op.create_table(
        "debtor_contacts",
        sa.Column("contact_id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, primary_key=True),
        sa.Column("debtor_id", sa.Uuid, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("found_on", sa.Date),
        sa.Column("confidence", sa.SmallInteger),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("kind IN ('phone', 'email', 'pec', 'address')", name="debtor_contacts_kind"),
        schema=S,
    )
    op.create_index("debtor_contacts_debtor", "debtor_contacts", ["tenant_id", "debtor_id"], schema=S)
    for statement in tenant_rls(S, "debtor_contacts"):
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("debtor_contacts", schema=S)
