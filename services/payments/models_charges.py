"""The c.803 collection charges' payments (migration 0018): what a debtor paid of a plan's charges
through their own pagoPA notice, apart from the positions' payments."""

import sqlalchemy as sa

from services.payments.models import metadata

charge_payments = sa.Table(
    "charge_payments",
    metadata,
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
    # PAID, REPORTED or REVOKED, as the receipt.
    sa.Column("state", sa.Text, nullable=False, server_default="PAID"),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
)
