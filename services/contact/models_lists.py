"""The operators' work lists (schema `contact`), kept apart from `models` so the table and its
queries (`repository_lists`) read as one concept."""

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY

from services.contact.models import metadata

# One per operator and Comune (`domain_lists.WorkList`); `operator` is the gateway's user id, as the
# identity carries it. No row: the operator is offered the whole pool.
work_lists = sa.Table(
    "work_lists",
    metadata,
    sa.Column("tenant_id", sa.Uuid, primary_key=True),
    sa.Column("operator", sa.Text, primary_key=True),
    sa.Column("operator_name", sa.Text),
    sa.Column("revenue_types", ARRAY(sa.Text), nullable=False, server_default="{}"),
    sa.Column("year_from", sa.SmallInteger),
    sa.Column("year_to", sa.SmallInteger),
    sa.Column("min_cents", sa.BigInteger),
    sa.Column("max_cents", sa.BigInteger),
    sa.Column("updated_by", sa.Text, nullable=False),
    sa.Column("updated_by_name", sa.Text),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
)

# The operators who opened the Comune's queue (its page, or its line on their home), so that a
# supervisor can hand them a card before they record their first call (`repository_board.roster`);
# the gateway alone holds the Comune's people. Written at most once an hour per operator.
operators_seen = sa.Table(
    "operators_seen",
    metadata,
    sa.Column("tenant_id", sa.Uuid, primary_key=True),
    sa.Column("operator", sa.Text, primary_key=True),
    sa.Column("operator_name", sa.Text),
    sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
)
