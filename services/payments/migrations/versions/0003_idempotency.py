"""Idempotency keys on payments: a retried request or a double-submitted form records one payment.

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None
S = "payments"


def upgrade() -> None:
    op.add_column("payments", sa.Column("idempotency_key", sa.Text), schema=S)
    op.create_index(
        "payments_idempotency",
        "payments",
        ["tenant_id", "idempotency_key"],
        unique=True,
        schema=S,
        postgresql_where=sa.text("idempotency_key IS NOT NULL"),
    )
