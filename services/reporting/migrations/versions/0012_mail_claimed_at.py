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


# Migrations run as the tables' owner, which FORCE ROW LEVEL SECURITY holds to the tenant policy
# (no tenant set: no row); the backfill lifts it for its own statements only, as 0006 does.
BACKFILL = tuple(
    statement
    for table, column, made in (
        ("digests", "claimed_at", "created_at"),
        ("rendiconti", "email_claimed_at", "generated_at"),
    )
    for statement in (
        f"ALTER TABLE {S}.{table} NO FORCE ROW LEVEL SECURITY",
        f"UPDATE {S}.{table} SET {column} = {made}",
        f"ALTER TABLE {S}.{table} FORCE ROW LEVEL SECURITY",
    )
)


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
    for statement in BACKFILL:
        op.execute(statement)


def downgrade() -> None:
    op.drop_column("rendiconti", "email_claimed_at", schema=S)
    op.drop_column("digests", "claimed_at", schema=S)
