"""Reporting projections (totals, positions, payments, outcomes, batches), reports and settings.

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
S = "reporting"
NOW = sa.text("now()")


def _money(name: str, default: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.BigInteger, nullable=False, server_default="0" if default else None)


def upgrade() -> None:
    op.create_table(
        "tenant_totals",
        sa.Column("tenant_id", sa.Uuid, primary_key=True),
        _money("assigned_cents", True),
        _money("collected_cents", True),
        sa.Column("positions", sa.Integer, nullable=False, server_default="0"),
        sa.Column("debtors_contacted", sa.Integer, nullable=False, server_default="0"),
        sa.Column("outcomes", sa.Integer, nullable=False, server_default="0"),
        sa.Column("payments", sa.Integer, nullable=False, server_default="0"),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        schema=S,
    )
    op.create_table(
        "positions",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("position_id", sa.Uuid, primary_key=True),
        sa.Column("debtor_id", sa.Uuid, nullable=False),
        sa.Column("fiscal_code", sa.Text, nullable=False),
        sa.Column("debtor_name", sa.Text, nullable=False),
        sa.Column("revenue_type", sa.Text, nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("act_number", sa.Text, nullable=False),
        _money("amount_cents"),
        _money("collected_cents", True),
        sa.Column("batch_id", sa.Text, nullable=False, server_default=""),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.CheckConstraint("amount_cents >= 0", name="positions_amount_nonnegative"),
        schema=S,
    )
    op.create_index(
        "positions_tenant_type_year", "positions", ["tenant_id", "revenue_type", "year"], schema=S
    )
    op.create_table(
        "payments",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("payment_id", sa.Uuid, primary_key=True),
        sa.Column("position_id", sa.Uuid, nullable=False),
        _money("amount_cents"),
        sa.Column("paid_on", sa.Date, nullable=False),
        schema=S,
    )
    op.create_index("payments_tenant_position", "payments", ["tenant_id", "position_id"], schema=S)
    op.create_table(
        "outcomes",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("contact_id", sa.Uuid, primary_key=True),
        sa.Column("debtor_id", sa.Uuid, nullable=False),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        schema=S,
    )
    op.create_index("outcomes_tenant_debtor", "outcomes", ["tenant_id", "debtor_id"], schema=S)
    op.create_table(
        "batches",
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("batch_id", sa.Uuid, primary_key=True),
        sa.Column("filename", sa.Text, nullable=False),
        sa.Column("data_rows", sa.Integer, nullable=False),
        sa.Column("accepted", sa.Integer, nullable=False),
        _money("accepted_total_cents"),
        sa.Column("rejected", JSONB, nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        schema=S,
    )
    op.create_table(
        "reports",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("object_key", sa.Text, nullable=False, unique=True),
        sa.Column("sha256", sa.Text, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("generated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("generated_by", sa.Text, nullable=False),
        _money("assigned_cents"),
        _money("collected_cents"),
        _money("residual_cents"),
        _money("aggio_cents"),
        sa.Column("aggio_rate_bp", sa.Integer, nullable=False),
        sa.CheckConstraint("kind IN ('relazione_scarico')", name="reports_kind_known"),
        schema=S,
    )
    op.create_index("reports_tenant_generated", "reports", ["tenant_id", "generated_at"], schema=S)
    op.create_table(
        "settings",
        sa.Column("tenant_id", sa.Uuid, primary_key=True),
        sa.Column("aggio_rate_bp", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("updated_by", sa.Text, nullable=False, server_default=""),
        sa.CheckConstraint("aggio_rate_bp BETWEEN 0 AND 10000", name="settings_aggio_rate_range"),
        schema=S,
    )
    for table in ("tenant_totals", "positions", "payments", "outcomes", "batches", "reports", "settings"):
        for statement in tenant_rls(S, table):
            op.execute(statement)
