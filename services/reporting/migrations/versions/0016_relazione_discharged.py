"""The relazione's totals keep what the office took off the load: sgravi (positions cancelled) and
rettifiche (amounts corrected down), so the page shows carico affidato - sgravi - rettifiche -
riscosso = residuo. Relazioni made before keep null (their assigned total was already net).

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None
S = "reporting"


def upgrade() -> None:
    op.add_column("reports", sa.Column("cancelled_cents", sa.BigInteger), schema=S)
    op.add_column("reports", sa.Column("corrected_cents", sa.BigInteger), schema=S)


def downgrade() -> None:
    op.drop_column("reports", "corrected_cents", schema=S)
    op.drop_column("reports", "cancelled_cents", schema=S)
