"""When a digest or a rendiconto's e-mail was last set `sending`: a row left `sending` past its lease
(`services.reporting.domain.SENDING_LEASE`) by a run that died is claimed again by the next run.
Rows made before take the time they were made, so one already stuck is sent by the next run.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None
S = "reporting"
NOW = sa.text("now()")


def upgrade() -> None:
    op.add_column(
        "digests",
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        schema=S,
    )
    op.add_column(
        "rendiconti",
        sa.Column("email_claimed_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        schema=S,
    )
    op.execute("UPDATE reporting.digests SET claimed_at = created_at")
    op.execute("UPDATE reporting.rendiconti SET email_claimed_at = generated_at")


def downgrade() -> None:
    op.drop_column("rendiconti", "email_claimed_at", schema=S)
    op.drop_column("digests", "claimed_at", schema=S)
