"""Outbox and inbox of the contact service.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

from services.kernel.migrate import outbox_inbox_sql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None
S = "contact"


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("message_id", sa.Uuid, nullable=False, unique=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("routing_key", sa.Text, nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        schema=S,
    )
    op.create_index("outbox_unsent", "outbox", ["id"], schema=S, postgresql_where=sa.text("sent_at IS NULL"))
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.Text, primary_key=True),
        sa.Column("message_id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema=S,
    )
    for statement in outbox_inbox_sql(S):
        op.execute(statement)
