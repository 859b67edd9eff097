"""What orders the queue after callbacks and broken promises: the amount owed, the nearness of the
limitation date (five years from the oldest act's year), the fewest attempts and the best phone's
reliability, weighted per Comune. The debtor keeps what the score needs, filled from what is known.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None
S = "contact"
DEFAULT_WEIGHTS = '{"amount": 4, "limitation": 3, "attempts": 2, "grade": 1}'


def upgrade() -> None:
    op.add_column("debtors", sa.Column("oldest_year", sa.SmallInteger), schema=S)
    op.add_column("debtors", sa.Column("attempts", sa.Integer, nullable=False, server_default="0"), schema=S)
    op.add_column("debtors", sa.Column("best_confidence", sa.SmallInteger), schema=S)
    op.add_column(
        "conduct_rules",
        sa.Column(
            "queue_weights", JSONB, nullable=False, server_default=sa.text(f"'{DEFAULT_WEIGHTS}'::jsonb")
        ),
        schema=S,
    )
    op.execute(
        f"UPDATE {S}.debtors d SET oldest_year = p.year FROM (SELECT tenant_id, debtor_id, min(year) AS year"
        f" FROM {S}.debtor_positions GROUP BY 1, 2) p WHERE p.tenant_id = d.tenant_id AND p.debtor_id = d.id"
    )
    op.execute(
        f"UPDATE {S}.debtors d SET attempts = c.n FROM (SELECT tenant_id, debtor_id, count(*) AS n"
        f" FROM {S}.contacts WHERE outcome NOT LIKE 'messaggio_%' GROUP BY 1, 2) c"
        " WHERE c.tenant_id = d.tenant_id AND c.debtor_id = d.id"
    )
    op.execute(
        f"UPDATE {S}.debtors d SET best_confidence = c.best FROM (SELECT tenant_id, debtor_id,"
        f" max(coalesce(confidence, 0)) AS best FROM {S}.debtor_contacts WHERE kind = 'phone' AND active"
        " GROUP BY 1, 2) c WHERE c.tenant_id = d.tenant_id AND c.debtor_id = d.id"
    )


def downgrade() -> None:
    op.drop_column("conduct_rules", "queue_weights", schema=S)
    for column in ("best_confidence", "attempts", "oldest_year"):
        op.drop_column("debtors", column, schema=S)
