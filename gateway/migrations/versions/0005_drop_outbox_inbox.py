"""Drop the outbox and inbox: the gateway publishes and consumes no events.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None
S = "gateway"


def upgrade() -> None:
    # Their policies, index and NOTIFY trigger go with the tables; the trigger's function does not.
    op.drop_table("outbox", schema=S)
    op.drop_table("inbox", schema=S)
    op.execute(f"DROP FUNCTION {S}.notify_outbox()")


def downgrade() -> None:
    from services.kernel.migrate import create_messaging_tables

    create_messaging_tables(S)
