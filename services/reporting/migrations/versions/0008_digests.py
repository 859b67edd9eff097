"""Tables of the digests: the schedule per Comune and every digest made (its PDF in object storage
with its SHA-256, the addresses it went to, whether the mail server took it). The office's
addresses are `office_contacts` (0006).

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

from services.kernel.migrate import tenant_rls

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None
S = "reporting"
NOW = sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "digest_settings",
        sa.Column("tenant_id", sa.Uuid, primary_key=True),
        # weekly | biweekly | monthly | days
        sa.Column("kind", sa.Text, nullable=False, server_default="weekly"),
        sa.Column("weekday", sa.SmallInteger, nullable=False, server_default="0"),
        sa.Column("every_days", sa.Integer),
        sa.Column("starts_on", sa.Date),
        # The end of the last period the daily run sent: the next one starts the day after.
        sa.Column("last_period_end", sa.Date),
        # The Comune's name and address in the platform as its people last saw them, for the
        # digests the daily run makes (it has no user to take them from).
        sa.Column("comune_name", sa.Text, nullable=False, server_default=""),
        sa.Column("comune_slug", sa.Text, nullable=False, server_default=""),
        sa.Column("updated_by", sa.Text, nullable=False, server_default=""),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.CheckConstraint("kind IN ('weekly', 'biweekly', 'monthly', 'days')", name="digest_kind"),
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name="digest_weekday"),
        sa.CheckConstraint(
            "kind <> 'days' OR (every_days > 0 AND starts_on IS NOT NULL)", name="digest_days"
        ),
        schema=S,
    )
    op.create_table(
        "digests",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Uuid, nullable=False),
        sa.Column("period_from", sa.Date, nullable=False),
        sa.Column("period_to", sa.Date, nullable=False),
        # scheduled (the daily run) | manual («Invia ora», by requested_by)
        sa.Column("trigger", sa.Text, nullable=False),
        sa.Column("requested_by", sa.Text, nullable=False, server_default=""),
        # sending (claimed, inside the transaction that sends it) | sent | failed (the mail server
        # refused: the daily run tries again) | kept (no mail server: development, nothing left)
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("error", sa.Text, nullable=False, server_default=""),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="1"),
        sa.Column("recipients", ARRAY(sa.Text), nullable=False),
        sa.Column("object_key", sa.Text, nullable=False, server_default=""),
        sa.Column("sha256", sa.Text, nullable=False, server_default=""),
        sa.Column("size", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("period_to >= period_from", name="digest_period"),
        sa.CheckConstraint("trigger IN ('scheduled', 'manual')", name="digest_trigger"),
        sa.CheckConstraint("status IN ('sending', 'sent', 'failed', 'kept')", name="digest_status"),
        schema=S,
    )
    # One scheduled digest per period: the daily run claims it by inserting, so it is never sent twice.
    op.create_index(
        "digests_scheduled_once",
        "digests",
        ["tenant_id", "period_from", "period_to"],
        unique=True,
        schema=S,
        postgresql_where=sa.text("trigger = 'scheduled'"),
    )
    op.create_index("digests_recent", "digests", ["tenant_id", "created_at"], schema=S)
    for table in ("digest_settings", "digests"):
        for statement in tenant_rls(S, table):
            op.execute(statement)


def downgrade() -> None:
    op.drop_table("digests", schema=S)
    op.drop_table("digest_settings", schema=S)
