"""What of a payment paid a plan's interest (`payments.interest_cents`): the interest is owed on top
of the positions' amount, and a position's `paid_cents` now counts only what paid its debt (it
counted the interest too, so the last installment of a plan with interest broke the position's
`paid_cents <= amount_cents` check).

Existing payments on an installment's notice get their share as `domain_interest` gives it, in the
order they were recorded (the installment's interest first, c.c. art. 1194), and their positions'
`paid_cents` give it back. The owner lifts FORCE for its own statements, as contact's 0026 does.

Revision ID: 0023
Revises: 0022
"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None
S = "payments"

FILL = (
    f"ALTER TABLE {S}.payments NO FORCE ROW LEVEL SECURITY",
    f"ALTER TABLE {S}.positions NO FORCE ROW LEVEL SECURITY",
    f"""UPDATE {S}.payments pay SET interest_cents = s.share FROM (
        SELECT x.id, least(x.amount_cents, greatest(0, x.interest - least(x.interest, x.before))) AS share
        FROM (
            SELECT p.id, p.amount_cents, i.interest_cents AS interest,
                   coalesce(sum(p.amount_cents) OVER (
                       PARTITION BY o.plan_id, o.installment ORDER BY p.recorded_at, p.id
                       ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before
            FROM {S}.payments p
            JOIN {S}.payment_options o ON o.tenant_id = p.tenant_id AND o.id = p.option_id
            JOIN {S}.plan_installments i ON i.plan_id = o.plan_id AND i.number = o.installment
            WHERE o.installment IS NOT NULL AND p.state <> 'REVOKED'
        ) x
    ) s WHERE pay.id = s.id AND s.share > 0""",
    f"""UPDATE {S}.positions pos SET paid_cents = greatest(0, pos.paid_cents - s.interest) FROM (
        SELECT tenant_id, position_id, sum(interest_cents) AS interest FROM {S}.payments
        WHERE interest_cents > 0 GROUP BY 1, 2
    ) s WHERE pos.tenant_id = s.tenant_id AND pos.id = s.position_id""",
    f"ALTER TABLE {S}.positions FORCE ROW LEVEL SECURITY",
    f"ALTER TABLE {S}.payments FORCE ROW LEVEL SECURITY",
)


def upgrade() -> None:
    op.add_column(
        "payments", sa.Column("interest_cents", sa.BigInteger, nullable=False, server_default="0"), schema=S
    )
    op.create_check_constraint(
        "payments_interest_range",
        "payments",
        "interest_cents >= 0 AND interest_cents <= amount_cents",
        schema=S,
    )
    for statement in FILL:
        op.execute(statement)


def downgrade() -> None:
    op.drop_constraint("payments_interest_range", "payments", schema=S)
    op.drop_column("payments", "interest_cents", schema=S)
