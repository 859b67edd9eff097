"""The legal interest rate (saggio legale, art. 1284 c.c.) as a dated table, editable without code by
the platform administrator. National, the same for every Comune: no tenant column, no row-level
security. Seeded with the rates of the MEF decrees known when it was written.

Revision ID: 0009
Revises: 0008
"""

from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None
S = "payments"
SEED = (
    (date(2024, 1, 1), Decimal("2.500"), "D.M. 29/11/2023 (G.U. 11/12/2023)"),
    (date(2025, 1, 1), Decimal("2.000"), "D.M. 10/12/2024 (G.U. n. 294 del 16/12/2024)"),
    (date(2026, 1, 1), Decimal("1.600"), "D.M. 10/12/2025 (G.U. n. 289 del 13/12/2025)"),
)


def upgrade() -> None:
    table = op.create_table(
        "legal_rates",
        sa.Column("valid_from", sa.Date, primary_key=True),
        # Percent a year.
        sa.Column("rate", sa.Numeric(6, 3), nullable=False),
        sa.Column("decree", sa.Text, nullable=False, server_default=""),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("rate >= 0 AND rate <= 20", name="legal_rates_rate_range"),
        schema=S,
    )
    op.bulk_insert(
        table,
        [
            {"valid_from": day, "rate": rate, "decree": decree, "created_by": "migrazione 0009"}
            for day, rate, decree in SEED
        ],
    )


def downgrade() -> None:
    op.drop_table("legal_rates", schema=S)
