"""The rendiconto's e-mail is sent after the transaction that recorded it: its status (sending, sent,
kept, failed, no_addresses) and how many times it was tried.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None
S = "reporting"


def upgrade() -> None:
    op.add_column(
        "rendiconti", sa.Column("email_status", sa.Text, nullable=False, server_default="sent"), schema=S
    )
    op.add_column(
        "rendiconti", sa.Column("email_attempts", sa.Integer, nullable=False, server_default="1"), schema=S
    )
    op.execute(
        "UPDATE reporting.rendiconti SET email_status = CASE"
        " WHEN emailed_at IS NOT NULL THEN 'sent'"
        " WHEN email_error LIKE 'Nessun indirizzo%' THEN 'no_addresses'"
        " WHEN email_error LIKE 'Non inviato:%' THEN 'kept'"
        " ELSE 'failed' END"
    )


def downgrade() -> None:
    op.drop_column("rendiconti", "email_attempts", schema=S)
    op.drop_column("rendiconti", "email_status", schema=S)
