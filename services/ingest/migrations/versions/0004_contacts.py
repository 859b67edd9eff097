"""Debtor contacts with provenance, each debtor's data-quality grade, and batch progress.

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
S = "ingest"


def upgrade() -> None:
    op.add_column("debtors", sa.Column("grade", sa.Text, nullable=False, server_default="none"), schema=S)
    op.add_column("debtors", sa.Column("graded_at", sa.DateTime(timezone=True)), schema=S)
    op.create_check_constraint("debtors_grade", "debtors", "grade IN ('phone', 'address', 'none')", schema=S)
    op.create_index("debtors_tenant_grade", "debtors", ["tenant_id", "grade"], schema=S)
    op.create_table(
        "contacts",
        sa.Column("id", sa.Uuid, primary_key=True, server_default=sa.text("gen_random_uuid()")),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("debtor_id", sa.Uuid, sa.ForeignKey(f"{S}.debtors.id"), nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("found_on", sa.Date, nullable=False),
        sa.Column("entered_by", sa.Text, nullable=False),
        sa.Column("confidence", sa.SmallInteger, nullable=False),
        sa.Column("batch_id", sa.Uuid),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("wrong", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("deactivated_by", sa.Text),
        sa.Column("deactivated_at", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")),
        sa.UniqueConstraint("tenant_id", "debtor_id", "kind", "value", name="contacts_datum"),
        sa.CheckConstraint("kind IN ('phone', 'email', 'pec', 'address')", name="contacts_kind"),
        sa.CheckConstraint("confidence BETWEEN 0 AND 100", name="contacts_confidence"),
        schema=S,
    )
    # Written in its own short transactions while a batch is processed, so the page can show it.
    op.create_table(
        "batch_progress",
        sa.Column("batch_id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("phase", sa.Text, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")),
        schema=S,
    )
    for table in ("contacts", "batch_progress"):
        for statement in tenant_rls(S, table):
            op.execute(statement)


def downgrade() -> None:
    op.drop_table("batch_progress", schema=S)
    op.drop_table("contacts", schema=S)
    op.drop_index("debtors_tenant_grade", "debtors", schema=S)
    op.drop_constraint("debtors_grade", "debtors", schema=S)
    op.drop_column("debtors", "graded_at", schema=S)
    op.drop_column("debtors", "grade", schema=S)
