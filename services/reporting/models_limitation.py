"""The Comune's acts interrupting the limitation, as the Ufficio tributi records them (migration
0022): the act with who recorded it and whether it was withdrawn, and one row per position it
interrupts (`kernel.repository_limitation.limitation_acts_table`, the same as payments and
contact keep from `reporting.limitation_interrupted`)."""

import sqlalchemy as sa

from services.kernel.repository_limitation import limitation_acts_table
from services.reporting.models import metadata

limitation_acts = limitation_acts_table(metadata)

limitation_act_records = sa.Table(
    "limitation_act_records",
    metadata,
    sa.Column("act_id", sa.Uuid, primary_key=True),
    sa.Column("tenant_id", sa.Uuid, nullable=False),
    sa.Column("debtor_id", sa.Uuid, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("reference", sa.Text, nullable=False, server_default=""),
    sa.Column("served_on", sa.Date, nullable=False),
    sa.Column("recorded_by", sa.Text, nullable=False),
    sa.Column("recorded_by_name", sa.Text, nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("withdrawn_at", sa.DateTime(timezone=True)),
    sa.Column("withdrawn_by_name", sa.Text),
)
