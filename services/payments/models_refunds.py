"""Refunds of payments (migration 0015): the Comune gave back part or all of a payment."""

import sqlalchemy as sa

from services.payments.models import metadata

refunds = sa.Table(
    "refunds",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid, nullable=False),
    sa.Column("payment_id", sa.Uuid, nullable=False),
    sa.Column("position_id", sa.Uuid, nullable=False),
    sa.Column("debtor_id", sa.Uuid, nullable=False),
    sa.Column("amount_cents", sa.BigInteger, nullable=False),
    sa.Column("refunded_on", sa.Date, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("recorded_by", sa.Text, nullable=False),
    sa.Column("recorded_by_name", sa.Text),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    # One key per rendered form: the same form submitted twice records one refund.
    sa.Column("idempotency_key", sa.Text),
    sa.UniqueConstraint("tenant_id", "idempotency_key", name="refunds_once"),
)
