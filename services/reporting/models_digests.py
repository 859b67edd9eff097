"""Tables of the digests for the Ufficio tributi (migration 0008)."""

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY

from services.reporting.models import metadata

digest_settings = sa.Table(
    "digest_settings",
    metadata,
    sa.Column("tenant_id", sa.Uuid, primary_key=True),
    sa.Column("kind", sa.Text, nullable=False, server_default="weekly"),
    sa.Column("weekday", sa.SmallInteger, nullable=False, server_default="0"),
    sa.Column("every_days", sa.Integer),
    sa.Column("starts_on", sa.Date),
    sa.Column("last_period_end", sa.Date),
    sa.Column("comune_name", sa.Text, nullable=False, server_default=""),
    sa.Column("comune_slug", sa.Text, nullable=False, server_default=""),
    sa.Column("updated_by", sa.Text, nullable=False, server_default=""),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
)

digests = sa.Table(
    "digests",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid, nullable=False),
    sa.Column("period_from", sa.Date, nullable=False),
    sa.Column("period_to", sa.Date, nullable=False),
    sa.Column("trigger", sa.Text, nullable=False),
    sa.Column("requested_by", sa.Text, nullable=False, server_default=""),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("error", sa.Text, nullable=False, server_default=""),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="1"),
    sa.Column("recipients", ARRAY(sa.Text), nullable=False),
    sa.Column("object_key", sa.Text, nullable=False, server_default=""),
    sa.Column("sha256", sa.Text, nullable=False, server_default=""),
    sa.Column("size", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("sent_at", sa.DateTime(timezone=True)),
    # Migration 0012: when the digest was last set `sending` (the run's clock), for its lease.
    sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
)
