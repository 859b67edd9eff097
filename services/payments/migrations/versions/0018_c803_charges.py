"""The c.803 collection charges (L. 160/2019, art. 1 c. 803) collected through a pagoPA notice of
their own: a plan's charges option (`payment_options.kind` 'charges', a debt of its own for
reconciliation) and the payments of charges, kept apart from the positions' payments so they never
reduce what is owed of the credit and never enter the aggio's base.

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
S = "payments"


def upgrade() -> None:
    op.add_column(
        "payment_options", sa.Column("kind", sa.Text, nullable=False, server_default="debt"), schema=S
    )
    op.create_check_constraint(
        "payment_options_kind", "payment_options", "kind IN ('debt', 'charges')", schema=S
    )
    # One charges notice in force per plan (two requests at once must not issue two).
    op.create_index(
        "payment_options_one_charges",
        "payment_options",
        ["tenant_id", "plan_id"],
        unique=True,
        schema=S,
        postgresql_where=sa.text("kind = 'charges' AND status <> 'replaced'"),
    )
    op.drop_constraint("gpd_positions_kind", "gpd_positions", schema=S)
    op.create_check_constraint(
        "gpd_positions_kind", "gpd_positions", "kind IN ('position', 'plan', 'charges')", schema=S
    )
    op.create_table(
        "charge_payments",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("plan_id", sa.Uuid, nullable=False),
        sa.Column("option_id", sa.Uuid, nullable=False),
        sa.Column("receipt_id", sa.Uuid, nullable=False),
        sa.Column("debtor_id", sa.Uuid, nullable=False),
        sa.Column("revenue_type", sa.Text, nullable=False),
        sa.Column("amount_cents", sa.BigInteger, nullable=False),
        sa.Column("paid_on", sa.Date, nullable=False),
        sa.Column("iuv", sa.Text, nullable=False),
        sa.Column("receipt_ref", sa.Text, nullable=False),
        sa.Column("flow_id", sa.Text),
        sa.Column("state", sa.Text, nullable=False, server_default="PAID"),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")),
        sa.CheckConstraint("amount_cents > 0", name="charge_payments_positive"),
        schema=S,
    )
    op.create_index("charge_payments_plan", "charge_payments", ["tenant_id", "plan_id"], schema=S)
    op.create_index("charge_payments_receipt", "charge_payments", ["tenant_id", "receipt_id"], schema=S)
    for statement in tenant_rls(S, "charge_payments"):
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("charge_payments", schema=S)
    # Without `kind` a charges notice would read as its plan's single payment: it stops standing.
    op.drop_index("payment_options_one_charges", "payment_options", schema=S)
    op.execute(f"ALTER TABLE {S}.payment_options NO FORCE ROW LEVEL SECURITY")
    op.execute(f"UPDATE {S}.payment_options SET status = 'replaced' WHERE kind = 'charges'")
    op.execute(f"ALTER TABLE {S}.payment_options FORCE ROW LEVEL SECURITY")
    op.execute("DELETE FROM payments.gpd_positions WHERE kind = 'charges'")
    op.drop_constraint("gpd_positions_kind", "gpd_positions", schema=S)
    op.create_check_constraint(
        "gpd_positions_kind", "gpd_positions", "kind IN ('position', 'plan')", schema=S
    )
    op.drop_constraint("payment_options_kind", "payment_options", schema=S)
    op.drop_column("payment_options", "kind", schema=S)
