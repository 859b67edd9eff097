"""The queue's score kept on the debtor and indexed, so that the next debtor is the first of an
index scan, not the top of a sort of the whole queue (a Comune has 100,000 debtors and more); the
debtors held by an operator indexed too.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None
S = "contact"


def upgrade() -> None:
    op.add_column("debtors", sa.Column("queue_score", sa.Float, nullable=False, server_default="0"), schema=S)
    op.execute(
        f"CREATE INDEX debtors_pool ON {S}.debtors (tenant_id, queue_score DESC, id)"
        " WHERE status IN ('da_lavorare', 'in_lavorazione')"
    )
    # The debtor an operator holds, found without reading the whole queue.
    op.execute(
        f"CREATE INDEX debtors_leased ON {S}.debtors (tenant_id, assigned_to) WHERE assigned_to IS NOT NULL"
    )
    # The figures of the default weights (4, 3, 2, 1) today; each Comune's own weights and the
    # days that pass are applied by the contact daily run and by any change of a debtor.
    op.execute(
        f"UPDATE {S}.debtors SET queue_score ="
        " 4 * least(ln(1 + total_due_cents::float) / ln(1 + 10000000), 1.0)"
        " + 3 * CASE WHEN oldest_year IS NULL THEN 0.0 ELSE greatest(0.0, least(1.0, 1.0 -"
        " (make_date(oldest_year + 5, 12, 31) - current_date)::float / (365.0 * 5))) END"
        " + 2 * (1.0 / (1.0 + attempts)) + 1 * (coalesce(best_confidence, 0)::float / 100.0)"
    )


def downgrade() -> None:
    op.execute(f"DROP INDEX {S}.debtors_leased")
    op.execute(f"DROP INDEX {S}.debtors_pool")
    op.drop_column("debtors", "queue_score", schema=S)
