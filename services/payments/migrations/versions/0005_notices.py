"""pagoPA notices: the Comune's creditor data, its notice numbering, and the payment options issued.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

from services.kernel.migrate import tenant_rls

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None
S = "payments"


def upgrade() -> None:
    op.create_table(
        "creditors",
        sa.Column("tenant_id", sa.Uuid, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("fiscal_code", sa.Text, nullable=False),
        sa.Column("segregation_code", sa.Text, nullable=False),
        sa.Column("cbill", sa.Text, nullable=False),
        sa.Column("iban", sa.Text, nullable=False),
        sa.Column("postal_account", sa.Text),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema=S,
    )
    # The next base of the Comune's notice numbers: taken with UPDATE … RETURNING, never given twice.
    op.create_table(
        "notice_numbers",
        sa.Column("tenant_id", sa.Uuid, primary_key=True),
        sa.Column("next_base", sa.BigInteger, nullable=False),
        schema=S,
    )
    op.create_table(
        "payment_options",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("position_id", sa.Uuid, nullable=False),
        sa.Column("debtor_id", sa.Uuid, nullable=False),
        sa.Column("nav", sa.Text, nullable=False),
        sa.Column("iuv", sa.Text, nullable=False),
        sa.Column("amount_cents", sa.BigInteger, nullable=False),
        sa.Column("due_date", sa.Date, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="payable"),
        sa.Column("issued_by", sa.Text, nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.ForeignKeyConstraint(
            ["tenant_id", "position_id"], [f"{S}.positions.tenant_id", f"{S}.positions.id"]
        ),
        sa.UniqueConstraint("tenant_id", "nav", name="payment_options_nav"),
        sa.UniqueConstraint("tenant_id", "iuv", name="payment_options_iuv"),
        sa.CheckConstraint("amount_cents > 0", name="payment_options_amount_positive"),
        schema=S,
    )
    op.create_index("payment_options_position", "payment_options", ["tenant_id", "position_id"], schema=S)
    for table in ("creditors", "notice_numbers", "payment_options"):
        for statement in tenant_rls(S, table):
            op.execute(statement)


def downgrade() -> None:
    for table in ("payment_options", "notice_numbers", "creditors"):
        op.drop_table(table, schema=S)
